"""Readers' conditional GETs: ETag and Last-Modified from the archive's public state,
answered 304 without running the view, and never stale after a public change; pages
that carry nothing of their reader, public (a shared cache may keep them), and the
costlier ones kept for the next reader."""

import re
from html import unescape
from urllib.parse import quote

import pytest
from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse

from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_a_page_seen_before_is_answered_304_after_one_query(client, demo):
    url = demo[0].get_absolute_url()
    first = client.get(url)
    assert first.status_code == 200
    assert "public" in first["Cache-Control"] and "no-cache" in first["Cache-Control"]
    assert "private" not in first["Cache-Control"]
    assert not first.cookies  # nothing of the reader: no CSRF cookie, no session
    assert "Cookie" in first["Vary"]
    etag, modified = first["ETag"], first["Last-Modified"]
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url, headers={"if-none-match": etag})
    assert again.status_code == 304 and not again.content
    assert len(queries) == 1  # the generation; no view ran
    assert client.get(url, headers={"if-modified-since": modified}).status_code == 304


@pytest.mark.parametrize(
    "url", ["/", "/releases/?place=syria", "/positions/", "/topics/syria/", "/sitemap.xml"]
)
def test_every_public_page_validates(client, demo, url):
    etag = client.get(url)["ETag"]
    assert client.get(url, headers={"if-none-match": etag}).status_code == 304


def test_a_public_change_makes_every_copy_stale(client, demo):
    release = demo[0]
    etag = client.get("/releases/")["ETag"]
    release.dateline = "أستانا (تصحيح)"
    release.save()
    response = client.get("/releases/", headers={"if-none-match": etag})
    assert response.status_code == 200 and response["ETag"] != etag
    source = release.source
    etag = client.get(release.get_absolute_url())["ETag"]
    source.name_en = "SANA, renamed"
    source.save()
    assert (
        client.get(release.get_absolute_url(), headers={"if-none-match": etag}).status_code == 200
    )


def test_each_language_and_url_has_its_own_copy(client, demo):
    arabic = client.get("/releases/")["ETag"]
    assert client.get("/releases/?o=oldest")["ETag"] != arabic
    client.cookies["django_language"] = "en"
    english = client.get("/releases/", headers={"if-none-match": arabic})
    assert english.status_code == 200 and english["ETag"] != arabic


def test_editors_and_exports_are_not_validated(client, demo):
    client.force_login(make_user("editors"))
    response = client.get("/releases/")
    assert not response.has_header("ETag")
    client.logout()
    export = client.get(reverse("statements:export", args=["positions", "csv"]))
    assert export.streaming and not export.has_header("ETag")
    assert client.get("/no-such-page/").status_code == 404


def test_a_withdrawn_release_keeps_its_410_under_validation(client, demo):
    release = demo[1]
    release.status, release.withdrawal_reason = "withdrawn", "نُشر خطأً"
    release.save()
    gone = client.get(release.get_absolute_url())
    assert gone.status_code == 410
    assert (
        client.get(release.get_absolute_url(), headers={"if-none-match": gone["ETag"]}).status_code
        == 304
    )


class TestLanguageSwitch:
    """The language switch is a link: pages carry no CSRF token, and the choice is a
    cookie set by a redirect back to the page."""

    def test_a_link_back_to_the_page(self, client, demo):
        url = "/releases/?q=%D8%B3%D9%88%D8%B1%D9%8A%D8%A9&o=oldest"  # as a browser sends it
        page = client.get(url)
        assert "csrfmiddlewaretoken" not in page.text
        link = re.search(r'<p class="lang-switch">\s*<a href="([^"]+)"', page.text).group(1)
        response = client.get(unescape(link))
        assert response.status_code == 302
        assert response["Location"] == url
        assert response.cookies["django_language"].value == "en"
        assert "no-store" in response["Cache-Control"]
        english = client.get(response["Location"])
        assert '<html lang="en" dir="ltr">' in english.text
        back = re.search(r'<p class="lang-switch">\s*<a href="([^"]+)"', english.text).group(1)
        assert client.get(unescape(back)).cookies["django_language"].value == "ar"

    @pytest.mark.parametrize(
        "next_url",
        ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)",
         "", "releases/", "\u202e/releases/"],
    )  # fmt: skip
    def test_never_sends_the_reader_elsewhere(self, client, next_url):
        response = client.get("/language/en/", {"next": next_url})
        assert response.status_code in (302, 400)
        if response.status_code == 302:
            assert response["Location"] == "/"
            assert response.cookies["django_language"].value == "en"

    def test_a_long_search_comes_back_too(self, client):
        query = quote("الأمن الجماعي " * 150)  # over 2,000 characters once encoded
        back = f"/releases/?q={query}&o=oldest"
        response = client.get("/language/en/", {"next": back})
        assert len(back) > 2048 and response["Location"] == back

    def test_an_unknown_language_is_not_found(self, client):
        response = client.get("/language/fr/", {"next": "/"})
        assert response.status_code == 404
        assert "django_language" not in response.cookies

    def test_a_post_is_not_how(self, client):
        assert client.post("/language/en/", {"next": "/"}).status_code == 405


class TestSharedCopies:
    """Listings, searches, the home and topic pages are kept for the next reader, under
    the generation: one query (the generation) to serve a copy, none after a publication."""

    @pytest.mark.parametrize(
        "url", ["/", "/releases/?place=syria", "/positions/?q=سورية", "/topics/", "/topics/syria/"]
    )
    def test_the_next_reader_gets_the_copy(self, client, demo, url):
        first = client.get(url)
        assert first.status_code == 200
        client.get(url)  # asked for a second time: kept
        other = Client()
        with CaptureQueriesContext(connection) as queries:
            again = other.get(url)
        assert len(queries) == 1, [q["sql"][:100] for q in queries]  # the generation
        assert again.status_code == 200 and again.content == first.content
        assert again["ETag"] == first["ETag"]
        assert again["Content-Type"] == first["Content-Type"]
        assert again["Content-Security-Policy"] == first["Content-Security-Policy"]
        assert again["X-Frame-Options"] == first["X-Frame-Options"]
        assert "public" in again["Cache-Control"] and "Cookie" in again["Vary"]

    def test_a_release_page_is_not_kept(self, client, demo):
        url = demo[0].get_absolute_url()
        client.get(url)
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            Client().get(url)
        assert len(queries) > 1

    def test_a_page_asked_for_once_is_not_kept(self, client, demo):
        """Every query string is a key: a page is kept when asked for again, so URLs
        asked for once (made up, or a crawler's) leave a mark of a few bytes only."""
        client.get("/releases/?made-up=1")
        with CaptureQueriesContext(connection) as queries:
            Client().get("/releases/?made-up=2")
        assert len(queries) > 1
        with CaptureQueriesContext(connection) as queries:
            Client().get("/releases/?made-up=1")  # its second time: built, then kept
        assert len(queries) > 1
        with CaptureQueriesContext(connection) as queries:
            again = Client().head("/releases/?made-up=1")
        assert len(queries) == 1 and again.status_code == 200 and again.has_header("ETag")

    def test_two_queries_never_share_a_copy(self, client, demo):
        """The key is the query as the view reads it: raw bytes and their percent-encoded
        form are one search; a double-encoded one is another."""
        # Raw UTF-8 bytes, as WSGI hands them over (each byte one latin-1 character).
        raw_bytes = "q=" + "سورية".encode().decode("latin-1")
        raw = client.generic("GET", "/releases/", QUERY_STRING=raw_bytes)
        encoded = client.get("/releases/?q=%D8%B3%D9%88%D8%B1%D9%8A%D8%A9")
        double = client.get(
            "/releases/?q=%C3%98%C2%B3%C3%99%C2%88%C3%98%C2%B1%C3%99%C2%8A%C3%98%C2%A9"
        )
        assert raw["ETag"] == encoded["ETag"] != double["ETag"]

    def test_a_reader_with_a_session_cookie_gets_a_private_page(self, client, demo):
        client.cookies["sessionid"] = "expired-or-unknown"
        response = client.get("/releases/")
        assert "private" in response["Cache-Control"]

    def test_a_publication_is_seen_at_once(self, client, demo):
        release = demo[0]
        before = client.get("/releases/")
        assert "أستانا (تصحيح)" not in before.text
        release.dateline = "أستانا (تصحيح)"
        release.save()
        after = Client().get("/releases/")
        assert "أستانا (تصحيح)" in after.text

    def test_each_language_has_its_own(self, client, demo):
        arabic = client.get("/releases/")
        english_reader = Client()
        english_reader.cookies["django_language"] = "en"
        english = english_reader.get("/releases/")
        assert '<html lang="en" dir="ltr">' in english.text
        assert '<html lang="ar" dir="rtl">' in arabic.text

    def test_editors_neither_get_nor_leave_copies(self, client, demo):
        Client().get("/releases/")
        Client().get("/releases/")
        client.force_login(make_user("editors"))
        with CaptureQueriesContext(connection) as queries:
            mine = client.get("/releases/")
        assert len(queries) > 2 and "public" not in mine.get("Cache-Control", "")
        client.get("/positions/")
        client.get("/positions/")
        with CaptureQueriesContext(connection) as queries:
            Client().get("/positions/")
        assert len(queries) > 1  # what an editor was shown was not kept

    def test_a_page_with_something_of_its_reader_is_neither_kept_nor_public(self, settings):
        settings.ROOT_URLCONF = __name__
        first = Client().get("/personal/")
        assert first.status_code == 200 and first.cookies["csrftoken"]
        assert "private" in first["Cache-Control"] and "public" not in first["Cache-Control"]
        second, third = Client().get("/personal/"), Client().get("/personal/")
        assert len({first.content, second.content, third.content}) == 3  # each its own

    def test_none_kept_when_switched_off(self, client, demo, settings):
        settings.PAGE_CACHE_SECONDS = 0
        client.get("/releases/")
        client.get("/releases/")
        with CaptureQueriesContext(connection) as queries:
            Client().get("/releases/")
        assert len(queries) > 1


def personal(request):
    """A page that uses its reader's CSRF token (none of the archive's public pages do)."""
    response = HttpResponse(f"<p>{get_token(request)}</p>")
    response.shared_copy = True
    return response


urlpatterns = [path("personal/", personal)]
