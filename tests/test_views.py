"""The first public pages: home, listings, release page, topic and source pages."""

import html
import re

import pytest
from django.urls import reverse

from statements.models import Position, Release
from statements.passages import runs
from tests.factories import make_position, make_release, make_source, make_topic

pytestmark = pytest.mark.django_db


def release_url(release):
    return reverse("statements:release-detail", kwargs={"public_id": release.public_id})


class TestHome:
    def test_demo_archive_is_on_the_home_page(self, client, demo):
        response = client.get(reverse("statements:home"))
        assert response.status_code == 200
        text = response.text
        assert '<html lang="ar" dir="rtl">' in text
        for release in demo:
            assert release_url(release) in text
        assert "سورية" in text  # a topic with published positions

    def test_empty_archive_says_so(self, client):
        response = client.get(reverse("statements:home"))
        assert response.status_code == 200
        assert "لم يُنشر شيء بعد." in response.text


class TestReleasePage:
    def test_every_position_is_highlighted_with_its_anchor(self, client, demo):
        release = demo[0]
        response = client.get(release_url(release))
        assert response.status_code == 200
        for position in release.positions.all():
            assert f'id="p{position.number}"' in response.text
            assert html.escape(position.summary) in response.text

    def test_the_text_is_shown_whole_and_unaltered(self, client, demo):
        for release in demo:
            response = client.get(release_url(release))
            body_html = re.search(
                r'<div class="release-body" lang="ar" dir="rtl">(.*?)</div>', response.text, re.S
            ).group(1)
            # The passage numbers and their (hidden) cards are the only added text.
            added = r'<a class="passage-number".*?</a><span class="card".*?</span></span>'
            without_numbers = re.sub(added, "", body_html)
            assert html.unescape(re.sub(r"<[^>]+>", "", without_numbers)) == release.body

    def test_metadata_dates_at_their_precision(self, client, demo):
        response = client.get(release_url(demo[1]))
        assert "[2020]" in response.text
        assert "يناير 2020" not in response.text
        response = client.get(release_url(demo[0]))
        assert "[8 نوفمبر 2018]" in response.text
        assert "سبوتنيك" in response.text  # the relay

    def test_user_text_is_escaped(self, client):
        release = make_release(title="<script>alert(1)</script>", body="نص <b>عريض</b> & رمز")
        make_position(release, quote="<b>عريض</b>")
        response = client.get(release_url(release))
        assert "<script>alert(1)</script>" not in response.text
        assert "&lt;b&gt;عريض&lt;/b&gt;" in response.text

    @pytest.mark.parametrize("status", [Release.Status.DRAFT, Release.Status.IN_REVIEW])
    def test_unpublished_releases_are_not_found(self, client, status):
        release = make_release(status=status)
        assert client.get(release_url(release)).status_code == 404
        assert release_url(release) not in client.get(reverse("statements:release-list")).text

    def test_withdrawn_release_answers_gone_with_its_reason(self, client):
        release = make_release(status=Release.Status.WITHDRAWN, withdrawal_reason="نُسب خطأً")
        response = client.get(release_url(release))
        assert response.status_code == 410
        assert "نُسب خطأً" in response.text

    def test_unknown_identifier_is_not_found(self, client):
        assert client.get("/r/999999/").status_code == 404

    def test_query_count_does_not_grow_with_positions(self, client, django_assert_max_num_queries):
        small, large = make_release(), make_release(body="منظمة " * 40)
        topic = make_topic()
        make_position(small, quote="منظمة", topics=[topic])
        for i in range(30):
            start = 6 * i
            Position(
                release=large,
                start=start,
                end=start + 5,
                quote="منظمة",
                stance="notes",
                summary="x",
            ).save()
        # 7: the release, source, relays, positions, topics, its latest version, and the
        # archive's state for readers' conditional GETs.
        with django_assert_max_num_queries(7):
            client.get(release_url(small))
        with django_assert_max_num_queries(7):
            client.get(release_url(large))


class TestListings:
    def test_release_list_is_published_only_and_newest_first(self, client, demo):
        make_release(status=Release.Status.DRAFT, body="مسودة")
        response = client.get(reverse("statements:release-list"))
        assert [r.public_id for r in response.context["object_list"]] == [
            demo[1].public_id,
            demo[0].public_id,
        ]

    def test_position_filters(self, client, demo):
        url = reverse("statements:position-list")
        syria = client.get(url, {"topic": "syria"}).context["object_list"]
        assert {p.release_id for p in syria} == {demo[0].pk, demo[1].pk}
        middle_east = client.get(url, {"topic": "middle-east"}).context["page_obj"].total
        assert middle_east > len(syria)  # sub-topics are included
        both = client.get(url, {"topic": "syria", "stance": "supports"}).context["object_list"]
        assert [p.stance for p in both] == ["supports"]
        by_body = client.get(url, {"issuing_body": "cfm"}).context["page_obj"].total
        assert by_body == demo[1].positions.count()
        text = client.get(url, {"q": "داعش"}).context["page_obj"].total
        assert text == 2

    def test_release_filters(self, client, demo):
        url = reverse("statements:release-list")
        assert [r.pk for r in client.get(url, {"source": "sputnik"}).context["object_list"]] == [
            demo[0].pk
        ]
        assert [r.pk for r in client.get(url, {"topic": "libya"}).context["object_list"]] == [
            demo[1].pk
        ]
        assert client.get(url, {"q": "الشئون"}).context["page_obj"].total == 1

    @pytest.mark.parametrize(
        ("query", "listings"),
        [
            ({"stance": "bogus"}, ["position"]),
            ({"topic": "no-such-topic"}, ["position", "release"]),
            ({"source": "nobody"}, ["position", "release"]),
            ({"issuing_body": "<script>"}, ["position", "release"]),
        ],
    )
    def test_invalid_filter_values_are_form_errors(self, client, demo, query, listings):
        for name in listings:
            response = client.get(reverse(f"statements:{name}-list"), query)
            assert response.status_code == 200
            assert response.context["filter"].errors
            assert 'class="field-error"' in response.text
            # The bad value is offered as a chip that removes it.
            assert response.context["chips"][0].invalid

    def test_a_very_long_search_is_cut_and_said_so(self, client, demo):
        for name in ("statements:position-list", "statements:release-list"):
            response = client.get(reverse(name), {"q": "سورية " * 2000})
            assert response.status_code == 200
            assert "استُخدم أوله فقط" in response.text

    @pytest.mark.parametrize("page", ["999", "abc", "-1"])
    def test_ranked_pages_out_of_range_are_not_found(self, client, demo, page):
        response = client.get(reverse("statements:position-list"), {"q": "سورية", "page": page})
        assert response.status_code == 404

    @pytest.mark.parametrize(
        "cursor",
        [
            {"after": "abc"},
            {"after": "2018-13-01.1.1"},
            {"before": "2018-11-08.1"},
            {"after": "-.-1.2"},
            {"after": "2018-11-08.99999999999999999999999.1"},
            {"before": "\x00"},
            {"before": "9999-12-31.1.1"},  # nothing before it, newest first
        ],
    )
    def test_a_cursor_that_leads_nowhere_is_not_found(self, client, demo, cursor):
        response = client.get(reverse("statements:position-list"), cursor)
        assert response.status_code == 404

    def test_pagination_keeps_the_filters(self, client):
        release = make_release(body="منظمة " * 30)
        topic = make_topic(slug="t")
        for i in range(25):
            Position(
                release=release,
                start=6 * i,
                end=6 * i + 5,
                quote="منظمة",
                stance="notes",
                summary="x",
            ).save()
        for position in release.positions.all():
            position.topics.add(topic)
        response = client.get(
            reverse("statements:position-list"), {"topic": "t", "stance": "notes"}
        )
        assert re.search(r'href="\?topic=t&amp;stance=notes&amp;after=[^"]+"', response.text)

    def test_empty_state_says_what_to_loosen(self, client, demo):
        url = reverse("statements:position-list")
        response = client.get(url, {"stance": "rejects", "topic": "palestine"})
        assert not response.context["object_list"]
        # Each filter whose removal would show something, with how many it would show.
        loosen = {
            frozenset(chip.change.keys() - {"page", "after", "before"}): n
            for chip, n in response.context["loosen"]
        }
        palestine = client.get(url, {"topic": "palestine"}).context["page_obj"]
        rejects = client.get(url, {"stance": "rejects"}).context["page_obj"]
        assert loosen == {
            frozenset({"stance"}): palestine.total,
            frozenset({"topic"}): rejects.total,
        }
        assert "أزل أحد المرشحات" in response.text

    def test_listing_query_count_does_not_grow_with_results(self, client):
        source = make_source()
        topic = make_topic()

        def add(n):
            for _ in range(n):
                release = make_release(
                    source=source, body=f"نص المنظمة رقم {Release.objects.count()}"
                )
                make_position(release, quote="المنظمة", topics=[topic])

        def queries(name):
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as captured:
                assert client.get(reverse(name)).status_code == 200
            return len(captured)

        add(2)
        small = {
            name: queries(name) for name in ("statements:release-list", "statements:position-list")
        }
        add(20)
        for name, count in small.items():
            assert queries(name) == count, name


class TestTopicAndSource:
    def test_topic_page(self, client, demo):
        response = client.get(reverse("statements:topic-detail", kwargs={"slug": "afghanistan"}))
        assert response.status_code == 200
        assert response.context["page_obj"].total == 2
        assert client.get("/topics/no-such-topic/").status_code == 404

    def test_topic_list_groups_by_kind(self, client, demo):
        response = client.get(reverse("statements:topic-list"))
        assert response.status_code == 200
        assert "أفغانستان" in response.text

    def test_source_page_lists_published_and_relayed_releases(self, client, demo):
        for slug in ("sana", "sputnik"):
            response = client.get(reverse("statements:source-detail", kwargs={"slug": slug}))
            assert [r.pk for r in response.context["releases"]] == [demo[0].pk]
        assert client.get("/sources/nobody/").status_code == 404

    def test_unicode_source_slug(self, client):
        source = make_source(name="وكالة الأنباء", slug="")
        make_release(source=source)
        assert source.slug == "وكالة-الأنباء"
        response = client.get(source.get_absolute_url())
        assert response.status_code == 200


class TestLanguage:
    def test_arabic_by_default_whatever_the_browser_says(self, client, demo):
        response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
        assert '<html lang="ar" dir="rtl">' in response.text

    def test_english_interface_keeps_arabic_texts_rtl(self, client, demo):
        response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
        assert response.status_code == 302
        response = client.get(release_url(demo[0]))
        assert '<html lang="en" dir="ltr">' in response.text
        assert "Positions" in response.text
        assert '<div class="release-body" lang="ar" dir="rtl">' in response.text
        assert "[8 November 2018]" in response.text
        assert response.headers["Content-Language"] == "en"


def test_runs_cover_the_text_once_with_overlaps():
    class P:
        def __init__(self, number, start, end):
            self.number, self.start, self.end = number, start, end

    body = "0123456789"
    result = runs(body, [P(1, 2, 6), P(2, 4, 8)])
    assert "".join(r.text for r in result) == body
    assert [(r.text, r.numbers, r.anchors) for r in result] == [
        ("01", [], []),
        ("23", [1], [1]),
        ("45", [1, 2], [2]),
        ("67", [2], []),
        ("89", [], []),
    ]


def test_healthz(client, db):
    assert client.get("/healthz/").status_code == 200
