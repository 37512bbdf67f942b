"""Interface language: Arabic unless the reader chose English.

Django's LocaleMiddleware follows the browser's Accept-Language, which would
show an English interface to most visitors of an Arabic archive (and split
caches by header). Here the language is Arabic unless the reader chose
another with the language switch (Django's set_language view, which stores it
in a cookie). URLs are the same in every language, so permalinks are too.
"""

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers


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
