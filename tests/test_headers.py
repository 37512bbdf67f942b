"""Security headers on every kind of response, and a strict Content-Security-Policy."""

import pytest
from django.urls import reverse

from statements.models import Release
from tests.factories import make_release

pytestmark = pytest.mark.django_db


def pages(demo):
    release = demo[0]
    gone = make_release()
    gone.status, gone.withdrawal_reason = Release.Status.WITHDRAWN, "نُشر خطأً"
    gone.save()
    return {
        "home": ("/", 200),
        "releases": ("/releases/?place=syria", 200),
        "positions": ("/positions/?q=سورية", 200),
        "release": (release.get_absolute_url(), 200),
        "changes": (reverse("statements:release-changes", args=[release.public_id]), 200),
        "topic": ("/topics/syria/", 200),
        "source": (release.source.get_absolute_url(), 200),
        "csv": (reverse("statements:export", args=["positions", "csv"]), 200),
        "feed": (reverse("statements:position-feed"), 200),
        "citation": (reverse("statements:release-citation", args=[release.public_id, "bib"]), 200),
        "sitemap": ("/sitemap.xml", 200),
        "robots": ("/robots.txt", 200),
        "admin login": ("/admin/login/", 200),
        "not found": ("/no-such-page/", 404),
        "withdrawn": (gone.get_absolute_url(), 410),
        "redirect": (f"/r/{release.public_id}/p/1/", 301),
    }


def assert_security_headers(response, name):
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp, name
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, name
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp, name
    assert response["X-Content-Type-Options"] == "nosniff", name
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin", name
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", name
    assert response["X-Frame-Options"] == "DENY", name


def test_every_response_carries_the_security_headers(client, demo):
    for name, (url, status) in pages(demo).items():
        response = client.get(url)
        assert response.status_code == status, name
        assert_security_headers(response, name)


@pytest.mark.parametrize("url", ["/", "/releases/", "/admin/login/", "/no-such-page/"])
def test_a_request_for_another_host_name_carries_them_too(client, url):
    """A Host the site does not answer to is refused in CommonMiddleware, outside the
    middleware that adds the policy and the frame denial: its 400 page carries them
    all the same."""
    response = client.get(url, headers={"host": "attacker.example"})
    assert response.status_code == 400
    assert_security_headers(response, url)


def test_no_page_has_inline_script_or_style(client, demo):
    import re

    for name, (url, _status) in pages(demo).items():
        response = client.get(url)
        if "html" not in response.get("Content-Type", "") or response.streaming:
            continue
        text = response.content.decode()
        inline = [
            tag
            for tag in re.findall(r"<script\b[^>]*>", text)
            if "src=" not in tag
            and "application/ld+json" not in tag
            and "application/json" not in tag
        ]
        assert not inline, (name, inline)
        assert not re.search(r"<style\b|\sstyle=\"", text), name
