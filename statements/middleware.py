"""Interface language: Arabic unless the reader chose English.

Django's LocaleMiddleware follows the browser's Accept-Language, which would
show an English interface to most visitors of an Arabic archive (and split
caches by header). Here the language is Arabic unless the reader chose
another with the language switch (statements.views.switch_language, a link that
stores it in a cookie). URLs are the same in every language, so permalinks are too.
"""

import datetime
import hashlib
import logging
import sys
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.csp import CSP, build_policy
from django.utils.http import escape_leading_slashes, http_date
from django.views import csrf, defaults


class ChosenLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if language not in self.supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ["Cookie"])
        response.headers.setdefault("Content-Language", language)
        return response


class ConditionalGetMiddleware:
    """Readers' conditional GETs answered before any view runs, and copies of the costlier
    public pages shared between readers.

    Every public page is a function of the archive's public state, the URL, the
    interface language and the day (citations say when they were accessed). The
    public state is one number, statements.listing's generation, which every
    public change moves on. So an anonymous GET or HEAD gets an ETag and a
    Last-Modified derived from them, and a request that already has that copy is
    answered 304 after one small query. Pages carry nothing of their reader (the
    language switch is a link, not a form with a CSRF token), so they are ``public``:
    a shared cache in front may keep them, revalidating every use (``no-cache``). A
    page that does carry something of its reader (a cookie set, a CSRF token used) is
    ``private``. Editors, the admin and streamed exports are left alone.

    The pages a view marks ``shared_copy`` (listings and searches, the home and topic
    pages: the ones that cost tens to hundreds of milliseconds and that many readers
    ask for alike) are also kept in the "pages" cache under the same key once asked for
    twice, for ``CSTO_PAGE_CACHE_SECONDS``, and served from there to the next reader: a
    new generation (or a new release of the code) is a new key, so no reader gets a
    page from before a publication.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefix = "/" + settings.ADMIN_URL

    def __call__(self, request):
        if (
            request.method not in ("GET", "HEAD")
            or request.path.startswith(self.admin_prefix)
            or request.user.is_authenticated
        ):
            return self.get_response(request)
        from . import listing

        generation, changed_at = request.archive_state = listing.state()
        today = timezone.localdate()
        # The query string as the view reads it (decoded, then encoded again): two raw
        # forms of one query are one page, and two queries never share one key.
        query = request.GET.urlencode()
        path = request.path + (f"?{query}" if query else "")
        key = f"{RELEASE}|{generation}|{translation.get_language()}|{today}|{path}"
        etag = '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'
        midnight = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
        last_modified = max(t for t in (changed_at, midnight) if t is not None)
        timestamp = int(last_modified.timestamp())
        cached = get_conditional_response(request, etag=etag, last_modified=timestamp)
        if cached is not None:
            return self._validators(request, cached, etag, timestamp)
        kept = _kept_page(etag)
        if kept is not None:
            return self._validators(request, kept, etag, timestamp)
        response = self.get_response(request)
        if response.status_code in (200, 410) and not response.streaming:
            if (
                request.method == "GET"
                and response.status_code == 200
                and getattr(response, "shared_copy", False)
                and not _personal(request, response)
            ):
                _keep_page(etag, response)
            return self._validators(request, response, etag, timestamp)
        return response

    @staticmethod
    def _validators(request, response, etag, timestamp):
        response.headers.setdefault("ETag", etag)
        response.headers.setdefault("Last-Modified", http_date(timestamp))
        if _personal(request, response):
            patch_cache_control(response, private=True, no_cache=True)
        else:
            patch_cache_control(response, public=True, no_cache=True)
        patch_vary_headers(response, ["Cookie"])
        return response


def _release():
    """What the deployed code is, for the pages' keys: after a deploy no reader is served
    a copy (or a 304 for a page) made by other code, whose links may name static files
    this host has not. CSTO_RELEASE if set (the commit deployed), else the hash of the
    static files' manifest (collectstatic writes it), else nothing (development)."""
    if settings.RELEASE:
        return settings.RELEASE
    manifest = Path(settings.STATIC_ROOT or "") / "staticfiles.json"
    try:
        return hashlib.sha256(manifest.read_bytes()).hexdigest()[:12]
    except OSError:
        return ""


RELEASE = _release()


def _personal(request, response):
    """Whether ``response`` carries something of its reader: a cookie it sets, a CSRF token
    its page used (the CSRF middleware, outside this one, then sets the cookie), or a
    session cookie the request came with (the session middleware, outside too, may renew
    or delete it)."""
    return (
        bool(response.cookies)
        or bool(request.META.get("CSRF_COOKIE_NEEDS_UPDATE"))
        or settings.SESSION_COOKIE_NAME in request.COOKIES
    )


def _page_key(etag):
    return "page:" + etag.strip('"')


def _keep_page(etag, response):
    """Keep a copy of a page asked for a second time within PAGE_CACHE_SECONDS: the first
    time leaves a mark of a few bytes only, so that URLs asked for once (a crawler's, or
    made up: every query string is a key) never fill the cache with pages."""
    seconds = settings.PAGE_CACHE_SECONDS
    if seconds <= 0:
        return
    headers = [(name, value) for name, value in response.items() if name.lower() != "vary"]
    pages = caches["pages"]
    try:
        if pages.add("seen:" + etag.strip('"'), 1, seconds):
            return
        pages.set(_page_key(etag), (response.status_code, headers, response.content), seconds)
    except Exception:  # a cache that is down costs the copy, never the page
        logger.warning("Could not keep a copy of %s", etag, exc_info=True)


def _kept_page(etag):
    if settings.PAGE_CACHE_SECONDS <= 0:
        return None
    try:
        kept = caches["pages"].get(_page_key(etag))
    except Exception:
        logger.warning("Could not read the kept copy %s", etag, exc_info=True)
        return None
    if kept is None:
        return None
    status, headers, content = kept
    response = HttpResponse(content, status=status)
    for name, value in headers:
        response.headers[name] = value
    return response


# Error pages that the middleware and Django's error handling produce.

DATABASE_ERRORS = (OperationalError, InterfaceError)
# How long a reader (or a crawler, or a load balancer) is asked to wait when the
# database cannot be reached: about what a restart or a fail-over takes.
RETRY_AFTER_SECONDS = 30

logger = logging.getLogger(__name__)


def with_page_policies(response):
    """The site's Content-Security-Policy and X-Frame-Options on an error page made
    outside the middleware that adds them (a failure in an outer middleware never
    reaches those); headers already there are kept."""
    if settings.SECURE_CSP and CSP.HEADER_ENFORCE not in response:
        response.headers[str(CSP.HEADER_ENFORCE)] = build_policy(settings.SECURE_CSP)
    response.headers.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS.upper())
    return response


def close_database_connections():
    """Close this thread's database connections, so the next request connects afresh.

    A connection inside a transaction is left alone: the transaction belongs to the
    code that opened it (requests here run in autocommit; in practice it is a test's),
    and closing under it would lose its work without a word.
    """
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:
            continue
        try:
            conn.close()
        except Exception:  # A broken connection may fail to close too; it is dropped anyway.
            logger.debug("Closing the %s database connection failed", conn.alias, exc_info=True)


def database_unavailable(request, error):
    """503 Service Unavailable, in both languages, without a database query.

    The page is a standalone template rendered without the request, so no context
    processor runs; readers are asked to retry, caches to keep nothing.
    """
    close_database_connections()
    logger.warning(
        "Database unavailable, answered 503 to %s %s: %s: %s",
        request.method,
        request.path,
        type(error).__name__,
        error,
    )
    # The page's "try again" link; never "//host/..." (another site, to a browser).
    path = escape_leading_slashes(request.get_full_path())
    body = loader.render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS, "path": path})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    response["Content-Language"] = "ar, en"
    return with_page_policies(response)


class DatabaseUnavailableMiddleware:
    """The database down: a 503 page with Retry-After instead of a server error, and
    recovery without anyone's intervention (the broken connections are closed, so the
    next request opens a new one).

    An OperationalError or InterfaceError from a view comes to ``process_exception``.
    One raised in a middleware (sessions, the readers' conditional GETs, which read the
    archive's state first) is turned into a response by Django before it could reach
    this one, by the handler500 view: ``server_error`` below answers it the same way.
    ``__call__`` catches what still propagates (DEBUG_PROPAGATE_EXCEPTIONS).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        except DATABASE_ERRORS as error:
            return database_unavailable(request, error)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            return database_unavailable(request, exception)
        return None


def server_error(request):
    """handler500: the 503 page when the error is the database's, else the 500 page."""
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_ERRORS):
        return database_unavailable(request, error)
    return with_page_policies(defaults.server_error(request))


def bad_request(request, exception):
    """handler400 (a Host the site does not answer to, a SuspiciousOperation): Django's
    view and templates/400.html. Such a request is refused in CommonMiddleware, outside
    the middleware that adds the page policies, so they are added here."""
    return with_page_policies(defaults.bad_request(request, exception))


def permission_denied(request, exception):
    """handler403, with the page policies wherever it was raised (bad_request says why)."""
    return with_page_policies(defaults.permission_denied(request, exception))


def page_not_found(request, exception):
    """handler404, with the page policies wherever it was raised (bad_request says why)."""
    return with_page_policies(defaults.page_not_found(request, exception))


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the site's 403 page, explaining that the form must be sent again
    from a reloaded page (Django's technical page, with the reason, while DEBUG)."""
    if settings.DEBUG:
        return csrf.csrf_failure(request, reason)
    return render(request, "403.html", {"csrf_failure": True}, status=403)
