"""Interface language: Arabic unless the reader chose English.

Django's LocaleMiddleware follows the browser's Accept-Language, which would
show an English interface to most visitors of an Arabic archive (and split
caches by header). Here the language is Arabic unless the reader chose
another with the language switch (Django's set_language view, which stores it
in a cookie). URLs are the same in every language, so permalinks are too.
"""

import datetime
import hashlib

from django.conf import settings
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date


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
    """Readers' conditional GETs answered before any view runs.

    Every public page is a function of the archive's public state, the URL, the
    interface language and the day (citations say when they were accessed). The
    public state is one number, statements.listing's generation, which every
    public change moves on. So an anonymous GET or HEAD gets an ETag and a
    Last-Modified derived from them, and a request that already has that copy is
    answered 304 after one small query. Copies are the reader's own
    (``private``: pages carry the reader's CSRF token in the language switch),
    revalidated on every use (``no-cache``). Editors, the admin and streamed
    exports are left alone.
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
        key = f"{generation}|{translation.get_language()}|{today}|{request.get_full_path()}"
        etag = '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'
        midnight = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
        last_modified = max(t for t in (changed_at, midnight) if t is not None)
        timestamp = int(last_modified.timestamp())
        cached = get_conditional_response(request, etag=etag, last_modified=timestamp)
        if cached is not None:
            return self._validators(cached, etag, timestamp)
        response = self.get_response(request)
        if response.status_code in (200, 410) and not response.streaming:
            return self._validators(response, etag, timestamp)
        return response

    @staticmethod
    def _validators(response, etag, timestamp):
        response.headers.setdefault("ETag", etag)
        response.headers.setdefault("Last-Modified", http_date(timestamp))
        patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ["Cookie"])
        return response
