"""Open data: CSV and JSON exports of filtered listings, Atom feeds, sitemap and robots.txt."""

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from statements import exports
from statements.models import Position, Release, Topic
from tests.factories import close_response, make_position, make_release, make_source, make_topic

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def xml(content):
    """Parse what the site itself wrote (not untrusted input)."""
    return ET.fromstring(content)  # noqa: S314


def export(client, listing, fmt, **params):
    response = client.get(reverse("statements:export", args=[listing, fmt]), params)
    assert response.status_code == 200, response.content[:300]
    assert response.streaming
    return b"".join(response.streaming_content).decode("utf-8")


def read_csv(text):
    assert text.startswith("\ufeff")  # spreadsheets then read the Arabic as UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


def listing_pks(client, url, params):
    pks, query = [], dict(params)
    while True:
        response = client.get(url, query)
        pks += [obj.pk for obj in response.context["object_list"]]
        found = re.search(r'rel="next" href="([^"]+)"', response.text)
        if not found:
            return pks
        query = dict(re.findall(r"([^?&=]+)=([^&]*)", unescape(found.group(1))))


def test_positions_on_syria_as_csv_are_the_listing_with_exact_quotes(client, demo):
    rows = read_csv(export(client, "positions", "csv", place="syria"))
    syria = Topic.objects.get(slug="syria")
    syria_and_below = set(
        Topic.objects.filter(pk__in=syria.descendant_ids()).values_list("slug", flat=True)
    )
    listed = listing_pks(client, reverse("statements:position-list"), {"place": "syria"})
    assert rows and len(rows) == len(listed)
    by_pk = {p.pk: p for p in Position.objects.filter(pk__in=listed).select_related("release")}
    expected = [(by_pk[pk].release.public_id, by_pk[pk].number) for pk in listed]
    assert [(int(r["release_public_id"]), int(r["number"])) for r in rows] == expected
    for row in rows:
        release = Release.objects.get(public_id=row["release_public_id"])
        start, end = int(row["start"]), int(row["end"])
        assert release.body[start:end] == row["quote"]  # code points, the exact quote
        assert set(row["topics"].split("|")) & syria_and_below
        assert row["permalink"].endswith(f"/r/{release.public_id}/#p{row['number']}")


def test_json_export_round_trips(client, demo):
    items = json.loads(export(client, "positions", "json"))
    assert len(items) == Position.objects.filter(release__status="published").count()
    for item in items:
        release = Release.objects.get(public_id=item["release_public_id"])
        assert release.body[item["start"] : item["end"]] == item["quote"]
        assert isinstance(item["topics"], list)
    releases = json.loads(export(client, "releases", "json"))
    assert {r["public_id"] for r in releases} == set(
        Release.objects.published().values_list("public_id", flat=True)
    )
    known_to_year = next(r for r in releases if r["published_precision"] == "year")
    assert known_to_year["published"] == "2020"
    assert all(r["body"] for r in releases)


def test_release_csv_with_filters_and_nothing_public_leaks(client, demo):
    make_release(status=Release.Status.DRAFT, title="مسودة سرية")
    rows = read_csv(export(client, "releases", "csv", date_from="2018", date_to="2018"))
    assert [r["published"] for r in rows] == ["2018-11-08"]
    everything = export(client, "releases", "csv")
    assert "مسودة سرية" not in everything


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_invalid_filter_is_a_clear_400(client, demo, fmt):
    url = reverse("statements:export", args=["positions", fmt])
    response = client.get(url, {"date_from": "2018-13", "topic": "no-such"})
    assert response.status_code == 400
    assert "date_from" in response.content.decode() and "topic" in response.content.decode()


def test_empty_export_is_a_header_or_an_empty_array(client, demo):
    assert json.loads(export(client, "positions", "json", q="كلمةلاتوجد")) == []
    assert read_csv(export(client, "positions", "csv", q="كلمةلاتوجد")) == []


def parse_feed(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = xml(response.content)
    assert root.tag == f"{ATOM}feed"
    # What RFC 4287 requires of a feed: id, title, updated, and an author (no entry names one).
    for name in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{name}") is not None, name
    assert root.find(f"{ATOM}author/{ATOM}name").text
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}{name}").text, name
        link = entry.find(f"{ATOM}link")
        assert link.get("rel") == "alternate"  # an entry without content needs one
        assert link.get("href").startswith("http://testserver/r/")
    return root, entries


def test_feeds_follow_the_filters(client, demo):
    _root, entries = parse_feed(client.get(reverse("statements:position-feed"), {"place": "syria"}))
    listed = listing_pks(client, reverse("statements:position-list"), {"place": "syria"})
    assert len(entries) == min(50, len(listed))
    _root, all_entries = parse_feed(client.get(reverse("statements:position-feed")))
    assert len(all_entries) > len(entries)
    root, releases = parse_feed(client.get(reverse("statements:release-feed")))
    assert len(releases) == Release.objects.published().count()
    self_link = [link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert self_link and self_link[0].get("href").startswith("http://testserver/releases/feed/")
    bad = client.get(reverse("statements:position-feed"), {"date_to": "x"})
    assert bad.status_code == 400


def test_listing_pages_link_their_feed_and_exports_with_the_filters(client, demo):
    response = client.get(reverse("statements:position-list"), {"place": "syria", "o": "oldest"})
    assert 'type="application/atom+xml" href="/positions/feed/?place=syria"' in response.text
    assert 'href="/positions/export.csv?place=syria&amp;o=oldest"' in response.text
    assert 'href="/positions/export.json?place=syria&amp;o=oldest"' in response.text


def test_sitemap_and_robots(client, demo):
    make_release(status=Release.Status.DRAFT)
    index = client.get("/sitemap.xml")
    assert index.status_code == 200
    sections = [loc.text for loc in xml(index.content).iter(f"{SITEMAP}loc")]
    assert any("sitemap-releases.xml" in url for url in sections)
    urls = []
    for section in sections:
        response = client.get(section.replace("http://testserver", ""))
        assert response.status_code == 200
        urls += [loc.text for loc in xml(response.content).iter(f"{SITEMAP}loc")]
    published = Release.objects.published()
    assert {f"http://testserver/r/{r.public_id}/" for r in published} <= set(urls)
    draft = Release.objects.get(status=Release.Status.DRAFT)
    assert f"http://testserver/r/{draft.public_id}/" not in urls
    assert "http://testserver/topics/syria/" in urls
    robots = client.get("/robots.txt").content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in robots
    assert "Disallow: /admin/" in robots
    assert "Disallow: /language/" in robots  # a link every page has, that sets a cookie


def test_a_large_export_streams_in_chunks(client, monkeypatch):
    from statements import exports

    monkeypatch.setattr(exports, "CHUNK", 3)
    release = make_release(body="منظمة " * 12)
    for i in range(10):
        make_position(release, quote="منظمة", start=6 * i, end=6 * i + 5)
    url = reverse("statements:export", args=["positions", "csv"])
    whole = b"".join(client.get(url).streaming_content)
    assert len(read_csv(whole.decode())) == 10
    assert len(whole) > 1000
    # The rows are sent in pieces of about PIECE characters: not one string, and not
    # one piece (one write to the socket) per row.
    monkeypatch.setattr(exports, "PIECE", 300)
    pieces = list(client.get(url).streaming_content)
    assert b"".join(pieces) == whole
    assert 3 <= len(pieces) < 10
    assert all(len(piece.decode()) >= 300 for piece in pieces[:-1])


def _chunked_corpus():
    """Five releases, each with its own relays, and positions with their own topics."""
    sources = [make_source(name=f"وكالة {c}", slug=f"agency-{c}") for c in "edcba"]
    topics = [make_topic(name_ar=f"موضوع {c}", slug=f"topic-{c}") for c in "zyxw"]
    for i in range(5):
        release = make_release(
            body="منظمة " * 12, published_on=f"202{i}-01-0{i + 1}", published_precision="day"
        )
        release.relayed_from.set([sources[i], sources[(i + 1) % 5]])
        for j in range(3):
            make_position(
                release, quote="منظمة", start=6 * j, end=6 * j + 5, topics=topics[j : j + i % 3 + 1]
            )


def test_every_chunk_carries_its_own_topics_and_relays(client, monkeypatch):
    """Topics and relays are read per chunk: rows on either side of a boundary keep theirs."""
    from statements import exports

    monkeypatch.setattr(exports, "CHUNK", 2)
    _chunked_corpus()
    positions = json.loads(export(client, "positions", "json"))
    assert len(positions) == 15
    for row in positions:
        position = Position.objects.get(
            release__public_id=row["release_public_id"], number=row["number"]
        )
        assert row["topics"] == [t.slug for t in position.topics.order_by("kind", "name_ar")]
        assert row["topics"]  # every position here has at least one
        relays = [s.slug for s in position.release.relayed_from.order_by("name")]
        assert row["relayed_from"] == relays and len(relays) == 2
    releases = read_csv(export(client, "releases", "csv"))
    assert len(releases) == 5
    for row in releases:
        release = Release.objects.get(public_id=row["public_id"])
        assert row["relayed_from"] == "|".join(
            s.slug for s in release.relayed_from.order_by("name")
        )


@pytest.mark.parametrize("listing", ["releases", "positions"])
def test_an_export_leaves_no_garbage_cycles_behind(client, monkeypatch, listing):
    """Rows that die in reference cycles wait for a full collection: memory then grows with
    the export (prefetched managers did that: 184 MB for a 100,000-row export)."""
    import gc

    from statements import exports

    monkeypatch.setattr(exports, "CHUNK", 4)
    _chunked_corpus()

    def cycles_left_by_export(query=""):
        gc.collect()
        gc.disable()
        try:
            for _chunk in client.get(f"/{listing}/export.csv{query}").streaming_content:
                pass
            return gc.collect()
        finally:
            gc.enable()

    cycles_left_by_export()  # the first request loads what stays loaded
    # The request itself leaves a few hundred objects in cycles, whatever it exports.
    of_a_request = cycles_left_by_export("?date_from=2099")
    assert cycles_left_by_export() - of_a_request < 5  # not one object per row


def test_exports_beyond_the_slots_are_told_to_come_back(client, demo, settings):
    """At most EXPORT_SLOTS exports stream at once: one more is a 503 with Retry-After and
    a page that says why, and a slot is free again once its export's response is closed,
    read to its end or not."""
    settings.EXPORT_SLOTS = 1
    url = reverse("statements:export", args=["positions", "csv"])
    first = client.get(url)
    assert first.status_code == 200
    next(iter(first.streaming_content))  # streaming, not finished
    busy = client.get(url, {"topic": "syria"}, headers={"accept-language": "ar"})
    assert busy.status_code == 503
    assert busy["Retry-After"] == "60"
    assert busy["Cache-Control"] == "no-store"
    assert "التصدير مشغول الآن" in busy.text
    assert "default-src 'self'" in busy["Content-Security-Policy"]
    assert "?topic=syria" in busy.text  # "try again" keeps the filters
    assert client.get(url.replace("csv", "json")).status_code == 503  # every format counts
    close_response(first)
    never_read = client.get(url)  # a stream that never started gives its slot back too
    assert never_read.status_code == 200
    close_response(never_read)
    whole = client.get(url)
    assert whole.status_code == 200
    assert len(read_csv(b"".join(whole.streaming_content).decode())) == Position.objects.count()
    close_response(whole)
    assert client.get(url).status_code == 200


def test_an_invalid_export_is_a_400_even_when_the_slots_are_taken(client, demo, settings):
    settings.EXPORT_SLOTS = 1
    url = reverse("statements:export", args=["positions", "csv"])
    first = client.get(url)
    assert first.status_code == 200
    assert client.get(url, {"stance": "affirms"}).status_code == 503
    assert client.get(url, {"stance": "nonsense"}).status_code == 400
    close_response(first)


def test_export_slots_can_be_unbounded(client, demo, settings):
    settings.EXPORT_SLOTS = 0
    url = reverse("statements:export", args=["releases", "json"])
    responses = [client.get(url) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    for response in responses:
        close_response(response)


def test_an_export_slot_outlives_the_counts_cache_and_a_lapse(client, demo, settings):
    """A lease is not evicted by the counts written meanwhile (its own cache), is taken
    again if it lapsed while the export streams, and is given back even when closing the
    stream fails."""
    from django.core.cache import cache, caches

    from statements.exports import Slot

    settings.EXPORT_SLOTS = 1
    url = reverse("statements:export", args=["positions", "csv"])
    first = client.get(url)
    assert first.status_code == 200
    for i in range(1000):  # more than local memory's 300 entries
        cache.set(f"count-{i}", i)
    assert client.get(url).status_code == 503
    close_response(first)

    slot = Slot.take()
    caches["slots"].delete(slot.key)  # lapsed
    slot.renew()
    assert Slot.take() is None  # taken again by the export that had it

    class Broken:
        def __next__(self):
            return "x"

        def close(self):
            raise OSError("the cursor's connection is gone")

    slot.stream = Broken()
    with pytest.raises(OSError):
        slot.close()
    assert Slot.take() is not None


class _Returned:
    """What csv.writer writes to: each record returned, as the exports once did."""

    def write(self, value):
        return value


_FIELD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(alphabet=st.sampled_from(list(',"\r\n \t|ابت\u200f\x00a')), max_size=12),
    st.text(max_size=20),
)


@given(st.lists(_FIELD, min_size=1, max_size=8))
@settings(max_examples=400, deadline=None)
def test_a_csv_record_is_what_the_csv_module_writes(values):
    """exports.csv_record writes a record as csv.writer's default dialect does, byte for
    byte: quotes, commas, CR and LF in fields, empty and missing values, numbers."""
    assert exports.csv_record(values) == csv.writer(_Returned()).writerow(values)


def test_a_release_body_is_quoted_whole():
    body = 'قال "الأمين العام"، في بيان:\nنص, آخر\r\nوأخير'
    record = exports.csv_record([1, body, None, True])
    assert next(csv.reader(io.StringIO(record, newline=""))) == ["1", body, "", "True"]
