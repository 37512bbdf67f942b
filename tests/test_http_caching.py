"""Readers' conditional GETs: ETag and Last-Modified from the archive's public state,
answered 304 without running the view, and never stale after a public change."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_a_page_seen_before_is_answered_304_after_one_query(client, demo):
    url = demo[0].get_absolute_url()
    first = client.get(url)
    assert first.status_code == 200
    assert "private" in first["Cache-Control"] and "no-cache" in first["Cache-Control"]
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
