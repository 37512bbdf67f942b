"""Production settings: `check --deploy` is silent with production variables, loud without."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "DJANGO_SECRET_KEY": "a-production-key-" + "x" * 50,
    "DJANGO_ALLOWED_HOSTS": "archive.example.org",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_HSTS_PRELOAD": "1",
}


def manage(*args, env=None, extra=None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **(env or {}), **(extra or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_silent_with_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}
    result = manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "csto.E001" in result.stderr


def test_bad_boolean_variable_is_a_clear_error():
    result = manage("check", env={**PRODUCTION, "DJANGO_DEBUG": "perhaps"})
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in result.stderr


def test_collectstatic_and_hashed_names(tmp_path):
    """Production serves hashed, compressed files: every template's static reference resolves."""
    env = {**PRODUCTION, "DJANGO_STATIC_ROOT": str(tmp_path / "static")}
    result = manage("collectstatic", "--noinput", "-v", "0", env=env)
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "static" / "css").glob("site.*.css.gz"))
    code = (
        "from django.test import Client;"
        "r = Client().get('/', HTTP_HOST='archive.example.org', secure=True);"
        "import re;"
        "print(r.status_code, re.search(r'/static/css/site\\.[0-9a-f]+\\.css', r.text) is not None)"
    )
    db = tmp_path / "db.sqlite3"
    migrate = manage("migrate", "-v", "0", env=env, extra={"SQLITE_PATH": str(db)})
    assert migrate.returncode == 0, migrate.stderr
    result = manage("shell", "-c", code, env=env, extra={"SQLITE_PATH": str(db)})
    assert result.stdout.strip().endswith("200 True"), result.stdout + result.stderr


@pytest.mark.django_db
def test_database_checks_pass_on_the_test_database():
    """On PostgreSQL the locale check (csto.E002) runs, on SQLite the FTS5 one (csto.E003)."""
    from django.core.checks import run_checks
    from django.db import connection

    from statements import checks

    ran = (
        checks.postgresql_locale
        if connection.vendor == "postgresql"
        else checks.sqlite_full_text_search
    )
    assert ran(None, databases=["default"]) == []
    assert [e for e in run_checks(databases=["default"]) if e.id.startswith("csto.")] == []


@pytest.mark.django_db
def test_postgresql_connections_plan_for_the_sites_queries():
    """No JIT compilation, and server-side cursors planned for reading every row
    (csto_site.settings.planner_settings)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL planner settings")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
        cursor.execute("SHOW cursor_tuple_fraction")
        assert float(cursor.fetchone()[0]) == 1.0


def test_pgbouncer_gets_no_startup_options():
    """PgBouncer refuses startup options: with DATABASE_PGBOUNCER the settings are the
    operator's to set for the role or the database (README)."""
    code = (
        "from django.conf import settings;"
        "print(repr(settings.DATABASES['default'].get('OPTIONS', {}).get('options')))"
    )
    url = "postgres://u@127.0.0.1:5432/x"
    plain = manage("shell", "-v", "0", "-c", code, extra={"DATABASE_URL": url})
    assert plain.stdout.strip() == "'-c jit=off -c cursor_tuple_fraction=1'", plain.stderr
    pooled = manage(
        "shell", "-v", "0", "-c", code, extra={"DATABASE_URL": url, "DATABASE_PGBOUNCER": "1"}
    )
    assert pooled.stdout.strip() == "None", pooled.stderr


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (DATABASE_URL)",
)
def test_database_locale_check_refuses_a_c_locale_database():
    import psycopg
    from psycopg import sql

    # The maintenance database, which always exists (DATABASE_URL's may not).
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    name = "csto_c_locale_check"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 LC_CTYPE 'C' LC_COLLATE 'C'").format(
                sql.Identifier(name)
            )
        )
    try:
        c_url = url.rsplit("/", 1)[0] + "/" + name
        result = manage("check", "--database", "default", extra={"DATABASE_URL": c_url})
        assert result.returncode != 0
        assert "csto.E002" in result.stderr
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def test_redis_url_selects_a_shared_redis_cache():
    """With REDIS_URL the cache is Redis (here, the machine's own, database 15)."""
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        if os.environ.get("CSTO_REQUIRE_REDIS"):
            raise
        pytest.skip("no Redis on 127.0.0.1:6379")
    script = (
        "from django.core.cache import cache; from django.conf import settings; "
        "cache.set('csto-test', 'سورية', 30); "
        "print(settings.CACHES['default']['BACKEND'], cache.get('csto-test'))"
    )
    debug = {"DJANGO_DEBUG": "1"}
    out = manage(
        "shell",
        "--no-imports",
        "-c",
        script,
        env=debug,
        extra={"REDIS_URL": "redis://127.0.0.1:6379/15"},
    )
    assert out.stdout.split() == ["django.core.cache.backends.redis.RedisCache", "سورية"], (
        out.stderr
    )
    default = manage("shell", "--no-imports", "-c", script, env=debug, extra={"REDIS_URL": ""})
    assert default.stdout.split()[0] == "django.core.cache.backends.locmem.LocMemCache"
