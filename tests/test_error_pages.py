"""Friendly error pages (400, 403, 404, 410, 500, 503) in both languages, and the
database-down 503 with its recovery (statements.middleware.DatabaseUnavailableMiddleware)."""

import logging
import re

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path, reverse

from statements.middleware import RETRY_AFTER_SECONDS
from statements.models import Release
from tests.factories import make_release

pytestmark = pytest.mark.django_db


# A test-only URLconf (``@pytest.mark.urls(__name__)``): the site's own URLs, so that the
# pages' links resolve, and views that fail in each way.


def crash(request):
    raise RuntimeError("a bug in a view")


def forbidden(request):
    raise PermissionDenied("not for you")


def suspicious(request):
    raise SuspiciousOperation("a tampered request")


def database_gone(request):
    raise OperationalError("server closed the connection unexpectedly")


def fine(request):
    return HttpResponse("fine")


urlpatterns = [
    path("test-errors/crash/", crash),
    path("test-errors/forbidden/", forbidden),
    path("test-errors/suspicious/", suspicious),
    path("test-errors/database-gone/", database_gone),
    path("test-errors/fine/", fine),
    path("", include("csto_site.urls")),
]
handler400 = "statements.middleware.bad_request"
handler500 = "statements.middleware.server_error"

with_error_urls = pytest.mark.urls(__name__)


@pytest.fixture
def english_client():
    client = Client()
    client.cookies["django_language"] = "en"
    return client


def html_root(response):
    return re.search(r"<html\b[^>]*>", response.text).group(0)


def assert_way_on(text):
    """A link home and the search form (or the search page)."""
    assert 'href="/"' in text
    assert 'action="/positions/"' in text and 'name="q"' in text


def assert_site_page(response, language):
    direction = "rtl" if language == "ar" else "ltr"
    assert html_root(response) == f'<html lang="{language}" dir="{direction}">'
    assert response["Content-Language"] == language
    assert '<link rel="stylesheet" href="/static/css/site.css">' in response.text
    assert "Content-Security-Policy" in response
    assert_way_on(response.text)


class TestNotFound:
    def test_arabic_by_default(self, client):
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        assert_site_page(response, "ar")
        assert "الصفحة غير موجودة" in response.text  # "Not found"
        assert "ابحث في المواقف عن" in response.text  # the search form's label
        assert "تصفّح البيانات" in response.text

    def test_english_when_chosen(self, english_client):
        response = english_client.get("/no-such-page/")
        assert response.status_code == 404
        assert_site_page(response, "en")
        assert "<h1>Not found</h1>" in response.text
        assert "Find positions containing" in response.text

    def test_an_unpublished_release_is_not_found_the_same_way(self, english_client):
        draft = make_release(status=Release.Status.DRAFT)
        response = english_client.get(draft.get_absolute_url())
        assert response.status_code == 404
        assert "<h1>Not found</h1>" in response.text


class TestBadRequest:
    def test_a_foreign_host_name_in_arabic(self, client):
        response = client.get("/", headers={"host": "attacker.example"})
        assert response.status_code == 400
        assert html_root(response) == '<html lang="ar" dir="rtl">'
        assert_way_on(response.text)
        assert "attacker.example" not in response.text

    def test_a_foreign_host_name_in_english(self, english_client):
        response = english_client.get("/releases/", headers={"host": "attacker.example"})
        assert response.status_code == 400
        assert html_root(response) == '<html lang="en" dir="ltr">'
        assert "<h1>Bad request</h1>" in response.text
        assert "could not be understood" in response.text
        assert_way_on(response.text)

    @with_error_urls
    @pytest.mark.parametrize("language", ["ar", "en"])
    def test_a_suspicious_operation(self, client, language):
        client.cookies["django_language"] = language
        response = client.get("/test-errors/suspicious/")
        assert response.status_code == 400
        assert_site_page(response, language)
        assert "a tampered request" not in response.text  # nothing of the exception shown
        if language == "en":
            assert "<h1>Bad request</h1>" in response.text


class TestForbidden:
    def test_a_form_sent_without_its_csrf_token(self):
        client = Client(enforce_csrf_checks=True)
        response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
        assert response.status_code == 403
        assert_site_page(response, "ar")
        # Nothing of the reader in it (public pages have no form that posts); the form
        # they came from gives a fresh token when it is loaded again.
        assert 'name="csrfmiddlewaretoken"' not in response.text

    def test_the_csrf_page_in_english_says_to_reload(self, english_client):
        client = Client(enforce_csrf_checks=True)
        client.cookies["django_language"] = "en"
        response = client.post(reverse("set_language"), {"language": "ar", "next": "/"})
        assert response.status_code == 403
        assert_site_page(response, "en")
        assert "<h1>The form has expired</h1>" in response.text
        assert "reload the page and send the form again" in response.text
        assert "Access denied" not in response.text

    def test_the_csrf_page_does_not_hide_a_valid_post(self):
        client = Client(enforce_csrf_checks=True)
        client.get(reverse("admin:login"))  # a form that posts: it sets the CSRF cookie
        token = client.cookies["csrftoken"].value
        response = client.post(
            reverse("set_language"), {"language": "en", "next": "/", "csrfmiddlewaretoken": token}
        )
        assert response.status_code == 302

    @with_error_urls
    @pytest.mark.parametrize("language", ["ar", "en"])
    def test_permission_denied(self, client, language):
        client.cookies["django_language"] = language
        response = client.get("/test-errors/forbidden/")
        assert response.status_code == 403
        assert_site_page(response, language)
        assert "not for you" not in response.text
        if language == "en":
            assert "<h1>Access denied</h1>" in response.text
            assert "You do not have permission to see this page." in response.text
            assert "The form has expired" not in response.text


class TestGone:
    """410 is the withdrawn release's tombstone (statements.views.tombstone)."""

    @pytest.mark.parametrize("language", ["ar", "en"])
    def test_a_withdrawn_release(self, client, language):
        client.cookies["django_language"] = language
        gone = make_release(status=Release.Status.WITHDRAWN, withdrawal_reason="نُشر خطأً")
        response = client.get(gone.get_absolute_url())
        assert response.status_code == 410
        direction = "rtl" if language == "ar" else "ltr"
        assert html_root(response) == f'<html lang="{language}" dir="{direction}">'
        assert "نُشر خطأً" in response.text
        if language == "en":
            assert "This release has been withdrawn" in response.text
        assert "Content-Security-Policy" in response


def assert_bilingual(response):
    """The standalone pages: Arabic first, then English, each marked with its language."""
    text = response.text
    assert html_root(response) == '<html lang="ar" dir="rtl">'
    assert '<link rel="stylesheet" href="/static/css/site.css">' in text
    arabic = text.index('<section lang="ar" dir="rtl">')
    english = text.index('<section lang="en" dir="ltr">')
    assert arabic < english
    assert 'href="/"' in text
    return text[arabic:english], text[english:]


@with_error_urls
class TestServerError:
    @pytest.mark.parametrize("language", ["ar", "en"])
    def test_both_languages_whatever_the_reader_chose(self, client, language):
        client.cookies["django_language"] = language
        client.raise_request_exception = False
        response = client.get("/test-errors/crash/")
        assert response.status_code == 500
        arabic, english = assert_bilingual(response)
        assert "حدث خطأ في الخادم" in arabic
        assert "Server error" in english and "try again shortly" in english
        assert 'href="/positions/"' in arabic and 'href="/positions/"' in english
        assert "a bug in a view" not in response.text
        assert "Content-Security-Policy" in response

    def test_the_page_needs_no_database(self, rf, django_assert_num_queries):
        from statements.middleware import server_error

        with django_assert_num_queries(0):
            response = server_error(rf.get("/"))
        assert response.status_code == 500
        assert "حدث خطأ في الخادم" in response.text


def unreachable(*args, **kwargs):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed')


def assert_unavailable(response):
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS) == "30"
    assert "no-store" in response["Cache-Control"]
    assert "ETag" not in response
    arabic, english = assert_bilingual(response)
    assert "الأرشيف غير متاح مؤقتًا" in arabic
    assert "The archive is temporarily unavailable" in english
    assert "try again in about 30 seconds" in english
    assert "Content-Security-Policy" in response
    assert response["X-Frame-Options"] == "DENY"


class TestDatabaseUnavailable:
    @with_error_urls
    def test_a_view_that_loses_the_database(self, client, caplog):
        # Answered by the middleware's process_exception: no exception escapes (the test
        # client would re-raise it), no traceback is logged, only a warning.
        with caplog.at_level(logging.WARNING):
            response = client.get("/test-errors/database-gone/")
        assert_unavailable(response)
        assert (
            "Try again" in response.text and 'href="/test-errors/database-gone/"' in response.text
        )
        warnings = [r for r in caplog.records if r.name == "statements.middleware"]
        assert warnings and warnings[0].levelno == logging.WARNING
        assert not [r for r in caplog.records if r.exc_info]
        assert client.get("/test-errors/fine/").status_code == 200

    @pytest.mark.django_db(transaction=True, serialized_rollback=True)
    @pytest.mark.parametrize("language", ["ar", "en"])
    def test_unreachable_database_then_recovery(self, monkeypatch, language):
        """The conditional-GET middleware reads the archive's state before any view: the
        failure is caught there too. The connection is closed; once the database answers
        again, the next request is served with nothing done by hand."""
        client = Client(raise_request_exception=False)
        client.cookies["django_language"] = language
        assert client.get("/").status_code == 200
        closed = []
        real_close = type(connections["default"]).close

        def close(self):
            closed.append(self.alias)
            real_close(self)

        monkeypatch.setattr(type(connections["default"]), "close", close)
        monkeypatch.setattr(BaseDatabaseWrapper, "ensure_connection", unreachable)
        response = client.get("/releases/?page=2")
        assert_unavailable(response)
        assert 'href="/releases/?page=2"' in response.text
        assert "default" in closed
        # Every page, and the health check the load balancer polls.
        assert_unavailable(client.get(reverse("statements:healthz")))

        monkeypatch.undo()
        response = client.get("/")
        assert response.status_code == 200
        assert client.get(reverse("statements:healthz")).status_code == 200

    def test_the_try_again_link_stays_on_this_site(self, rf):
        from statements.middleware import database_unavailable

        request = rf.get("/")
        request.path = "//attacker.example/"  # as a server passes a path beginning "//"
        response = database_unavailable(request, OperationalError("gone"))
        assert 'href="//attacker.example' not in response.text
        assert 'href="/%2Fattacker.example/"' in response.text

    def test_the_page_needs_no_database(self, rf, django_assert_num_queries):
        from statements.middleware import database_unavailable

        with django_assert_num_queries(0):
            response = database_unavailable(rf.get("/"), OperationalError("gone"))
        assert_unavailable(response)

    def test_other_errors_stay_server_errors(self, rf):
        from statements.middleware import DatabaseUnavailableMiddleware

        middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
        assert middleware.process_exception(rf.get("/"), RuntimeError("bug")) is None
        assert (
            middleware.process_exception(rf.get("/"), OperationalError("gone")).status_code == 503
        )


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a real server connection to break: PostgreSQL"
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_connection_killed_by_the_server_is_replaced():
    """The server ends the site's connection (a restart, a fail-over, an idle timeout):
    at worst one reader gets the 503 page, and the next request reconnects by itself."""
    client = Client(raise_request_exception=False)
    assert client.get("/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    killer = connection.get_new_connection(connection.get_connection_params())
    try:
        with killer.cursor() as cursor:
            # Waits (up to 10 s) until the backend has really gone.
            cursor.execute("SELECT pg_terminate_backend(%s, 10000)", [pid])
            assert cursor.fetchone()[0] is True
    finally:
        killer.close()

    try:
        first = client.get("/")
        if first.status_code == 503:
            assert_unavailable(first)
        else:
            assert first.status_code == 200
        statuses = [client.get("/").status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            assert cursor.fetchone()[0] != pid
    finally:
        connection.close()  # a broken connection must not spoil the database's teardown
