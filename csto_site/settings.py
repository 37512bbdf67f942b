"""Settings for the CSTO statements archive.

One file, read from environment variables, with defaults that work on a
laptop: SQLite next to the code and DEBUG off unless asked for. Set
``DATABASE_URL`` to use PostgreSQL (the production database, also tested in
CI). Every production knob is listed in the README's "Configuration" table.
"""

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    value = value.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}.")


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name, default):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}.") from None


DEBUG = env_bool("DJANGO_DEBUG", False)
# A reverse proxy in front sets X-Forwarded-Proto and appends to X-Forwarded-For.
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY", False)

# Without DJANGO_SECRET_KEY a clearly-marked development key is used, so the
# laptop set-up and the tests need nothing; `manage.py check --deploy` fails
# on it (check csto.E001 in statements/checks.py), so a production deploy
# cannot forget it.
INSECURE_DEVELOPMENT_KEY = "django-insecure-local-development-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "") or INSECURE_DEVELOPMENT_KEY

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sitemaps",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_filters",
    "simple_history",
    "axes",
    "statements",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The database down: a 503 page with Retry-After, and reconnection by itself.
    "statements.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "statements.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "statements.routers.ReplicaReadsMiddleware",
    "statements.middleware.ConditionalGetMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# A failed CSRF check (a form sent from a stale page, or without the site's cookie)
# gets the site's 403 page, which says to reload the page and send the form again.
CSRF_FAILURE_VIEW = "statements.middleware.csrf_failure"

# Password guessing on the admin login: django-axes locks a username from an address
# after AXES_FAILURE_LIMIT failures, for AXES_COOLOFF_MINUTES; a success resets it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
# The address a login comes from: behind the reverse proxy, the one it appended to
# X-Forwarded-For (statements.security.client_ip), never one the client wrote.
AXES_CLIENT_IP_CALLABLE = "statements.security.client_ip"

ROOT_URLCONF = "csto_site.urls"
WSGI_APPLICATION = "csto_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "statements.context_processors.archive",
            ],
        },
    },
]

# Database: SQLite next to the code unless DATABASE_URL names another one.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{os.environ.get('SQLITE_PATH', BASE_DIR / 'db.sqlite3')}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets readers go on while an editor writes; IMMEDIATE
            # transactions avoid "database is locked" on upgrade from read to
            # write.
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
# PgBouncer in transaction pooling mode cannot keep a server-side cursor across
# transactions: with DATABASE_PGBOUNCER=1, .iterator() reads in client-side chunks.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DATABASE_PGBOUNCER", False)


def planner_settings(database):
    """Two PostgreSQL planner settings for this site's connections (PgBouncer refuses
    startup options: with DATABASE_PGBOUNCER, set them for the role or the database
    there; README). Figures at 100,000 releases, bench/RESULTS.md.

    * ``jit = off``: the JIT compiler compiled each costlier count or export query anew,
      50-150 ms of CPU on a facet count that runs in 600 ms without it; these queries
      are many and varied, never long enough to repay it.
    * ``cursor_tuple_fraction = 1``: the site's server-side cursors (``.iterator()``:
      exports, the archive export) read every row. Planned for the default fraction, a
      tenth, the export of a topic's 26,818 positions took a fast-start plan through
      the ordering index: 5.2 s, against 0.37 s planned for every row (measured when
      Django still held the cursor past its transaction; an export now reads it in a
      transaction of its own, statements.exports.OneSnapshot)."""
    if database["ENGINE"] == "django.db.backends.postgresql" and not env_bool(
        "DATABASE_PGBOUNCER", False
    ):
        options = database.setdefault("OPTIONS", {})
        wanted = "-c jit=off -c cursor_tuple_fraction=1"
        options["options"] = " ".join(filter(None, [options.get("options"), wanted]))


planner_settings(DATABASES["default"])
# The test database's name, when two test runs share a server (tests/test_replica.py).
if os.environ.get("DATABASE_TEST_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["DATABASE_TEST_NAME"]}
# A PostgreSQL streaming replica for anonymous readers' queries, when one is set
# (statements.routers; writes, editors and the admin stay on the primary). In tests
# it mirrors the default database, as a replica would.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    planner_settings(DATABASES["replica"])
    if DATABASES["replica"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["replica"]["OPTIONS"] = dict(DATABASES["default"].get("OPTIONS", {}))
DATABASE_ROUTERS = ["statements.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Language and time. Arabic first (the admin turns RTL with it); English is
# offered to readers who prefer it. Formats are chosen on purpose in
# csto_site/formats/: Western digits, no RLM marks inside dates.
LANGUAGE_CODE = "ar"
LANGUAGES = [("ar", _("Arabic")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "statements" / "locale"]
FORMAT_MODULE_PATH = ["csto_site.formats"]
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed names in production; plain files while developing
        # and testing, so nothing needs collectstatic to render a page.
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or env_bool("CSTO_PLAIN_STATIC", False)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}

# The history pages show versions; restoring one is the editorial desk's job
# (it re-anchors positions), so django-simple-history's revert is off.
SIMPLE_HISTORY_REVERT_DISABLED = True

ADMIN_URL = os.environ.get("DJANGO_ADMIN_URL", "admin/").strip("/") + "/"
LOGIN_URL = "admin:login"

# Production hardening follows from DEBUG being off.
# TLS is usually ended by the reverse proxy; set DJANGO_SECURE_SSL_REDIRECT=1
# when Django should redirect plain HTTP itself (check --deploy asks for it).
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# Preloading is hard to undo: opt in explicitly.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# The cache holds listing counts (statements.listing), keyed by the archive's public
# state, so nothing has to be invalidated by hand. Local memory (one cache per process)
# unless REDIS_URL is set: then one Redis shared by every process and host.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CSTO_CACHE_PREFIX", "csto"),
            "TIMEOUT": 3600,
        }
    }
    # The export slots' leases (statements.exports.Slot): the same Redis, its own prefix.
    CACHES["slots"] = {
        **CACHES["default"],
        "KEY_PREFIX": CACHES["default"]["KEY_PREFIX"] + "-slots",
    }
    # Pages readers share (statements.middleware.ConditionalGetMiddleware): the same Redis.
    CACHES["pages"] = {
        **CACHES["default"],
        "KEY_PREFIX": CACHES["default"]["KEY_PREFIX"] + "-pages",
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        # Apart from the counts, so that no count written evicts a lease (local memory
        # keeps 300 entries and culls the oldest).
        "slots": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "export-slots",
        },
        # Pages readers share, apart too (a page is 30–100 KB: at most 200 of them kept
        # in each process).
        "pages": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "shared-pages",
            "OPTIONS": {"MAX_ENTRIES": 200},
        },
    }

# Content-Security-Policy: everything from this site only, no inline script or style
# (the pages have none: scripts are files, JSON-LD is data, not script), no plugins,
# no framing, forms post only here. The admin works under it too (tests/test_browser.py).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# The archive's identity, used in citations and page titles.
ARCHIVE_NAME_AR = "أرشيف بيانات منظمة معاهدة الأمن الجماعي"
ARCHIVE_NAME_EN = "CSTO Statements Archive"
# Absolute base of permalinks in citations (e.g. https://csto-archive.example).
# Empty: taken from the request.
SITE_URL = os.environ.get("CSTO_SITE_URL", "").rstrip("/")

# Exports streaming at once (statements.exports): one of a common topic reads and writes
# for 30–60 s at 100,000 releases, and under load a few of them held both cores and most
# workers (bench/RESULTS.md). Counted in the cache: across every process and host with
# REDIS_URL, in each process without it. 0: no bound.
EXPORT_SLOTS = env_int("CSTO_EXPORT_SLOTS", 2)
# How long an export whose database connection was lost (a restart, a failover) waits for
# the database before it goes on from its last row (statements.exports.rows_of); past
# that, or with 0, the download is cut off, visibly incomplete.
EXPORT_RESUME_SECONDS = env_int("CSTO_EXPORT_RESUME_SECONDS", 30)

# How long a copy of a listing, search, home or topic page is kept for the next reader
# who asks for it (statements.middleware.ConditionalGetMiddleware); a publication makes
# new copies at once whatever this says. 0: none kept.
PAGE_CACHE_SECONDS = env_int("CSTO_PAGE_CACHE_SECONDS", 600)
# What is deployed (e.g. the commit), part of every page's ETag and kept copy's key; by
# default the hash of the static files' manifest.
RELEASE = os.environ.get("CSTO_RELEASE", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "{levelname} {name} {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}
