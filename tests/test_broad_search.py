"""A broad search (more matches than limits.BROAD_SEARCH) is bounded: relevance ranks the
newest matches only, the total says "more than N", and no facet is counted over all the
matches. At 100,000 releases a common word matched half the archive and each such page
cost 20–40 s (bench/RESULTS.md), which the load test showed blocking every worker."""

import datetime
from contextlib import contextmanager

import pytest
from django.urls import reverse

from statements import limits
from tests.factories import make_position, make_release, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def matches():
    """Five releases that say سورية, one a year from 2011, the oldest repeating it most."""
    source = make_source()
    releases = []
    for year in range(2011, 2016):
        words = " ".join(["سورية"] * (6 if year == 2011 else 1))
        releases.append(
            make_release(
                source=source,
                body=f"أكدت المنظمة موقفها من {words} في بيانها الصادر هذا العام.",
                published_on=datetime.date(year, 5, 1),
                published_precision="day",
            )
        )
    make_position(release=releases[0], start=0, end=4, quote="أكدت")
    return releases


@pytest.fixture
def english(client):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    return client


def listing(client, **params):
    response = client.get(reverse("statements:release-list"), params)
    assert response.status_code == 200
    return response


def test_a_narrow_search_is_counted_in_full(english, matches):
    response = listing(english, q="سورية")
    assert response.context["page_obj"].total == 5
    assert response.context["facets"]
    assert not response.context["broad"]


def test_a_broad_search_is_bounded(english, matches, monkeypatch):
    monkeypatch.setattr(limits, "BROAD_SEARCH", 3)
    client = english
    response = listing(client, q="سورية")
    assert response.context["broad"]
    assert response.context["page_obj"].total is None
    assert response.context["facets"] == []
    html = response.content.decode()
    assert "More than 3 releases" in html
    assert "the newest 3" in html
    # Ranked among the newest three: the oldest, most relevant one is not on the page...
    shown = [r.public_id for r in response.context["object_list"]]
    assert matches[0].public_id not in shown
    assert sorted(shown) == sorted(r.public_id for r in matches[2:])
    # ...but ordered by date, every match is listed.
    response = listing(client, q="سورية", o="oldest")
    assert [r.public_id for r in response.context["object_list"]] == [r.public_id for r in matches]


def test_a_broad_search_in_arabic(client, matches, monkeypatch):
    monkeypatch.setattr(limits, "BROAD_SEARCH", 3)
    response = client.get(reverse("statements:release-list"), {"q": "سورية"})  # Arabic first
    html = response.content.decode()
    assert "أكثر من 3 بيان" in html
    assert "أحدثَ 3 منها" in html


def test_positions_too(english, matches, monkeypatch):
    monkeypatch.setattr(limits, "BROAD_SEARCH", 0)
    response = english.get(reverse("statements:position-list"), {"q": "أكدت", "o": "newest"})
    assert response.status_code == 200
    assert response.context["broad"]
    assert "More than 0 positions" in response.content.decode()
    assert [p.pk for p in response.context["object_list"]] == [matches[0].positions.get().pk]


@pytest.fixture
def phrase_matches():
    """Five releases with the phrase "تسوية سياسية", one a year from 2011; the oldest
    repeats it most, and one more release has both words apart (not a match)."""
    source = make_source()
    releases = []
    for year in range(2011, 2016):
        times = 5 if year == 2011 else 1
        releases.append(
            make_release(
                source=source,
                body="دعت المنظمة إلى " + " و".join(["تسوية سياسية"] * times) + " للأزمة.",
                published_on=datetime.date(year, 5, 1),
                published_precision="day",
            )
        )
    make_release(
        source=source,
        body="تسوية الخلاف ضرورة سياسية.",
        published_on=datetime.date(2016, 5, 1),
        published_precision="day",
    )
    return releases


def test_a_broad_phrase_ranks_its_newest_matches(english, phrase_matches, monkeypatch):
    """A phrase is read in each record's text: its newest matches are found newest first
    (search.plans("newest") on PostgreSQL), and they are the same on both databases."""
    monkeypatch.setattr(limits, "BROAD_SEARCH", 3)
    response = listing(english, q='"تسوية سياسية"')
    assert response.context["broad"]
    shown = {r.public_id for r in response.context["object_list"]}
    assert shown == {r.public_id for r in phrase_matches[2:]}
    assert response.context["page_obj"].paginator.count == 3
    response = listing(english, q='"تسوية سياسية"', o="oldest")
    assert [r.public_id for r in response.context["object_list"]] == [
        r.public_id for r in phrase_matches
    ]


def test_a_narrow_search_is_ranked_and_counted_from_its_matches(english, matches):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = listing(english, q="سورية")
    page = response.context["page_obj"]
    assert page.total == 5 and page.paginator.count == 5
    assert response.context["object_list"][0].public_id == matches[0].public_id
    # The matches found by the probe are ranked by key, once: the page's count is theirs.
    ranked = [q["sql"] for q in queries if "search_rank" in q["sql"]]
    assert ranked and all('"id" IN (' in sql or '"id" = ANY(' in sql for sql in ranked)
    if connection.vendor == "postgresql":
        assert len(ranked) == 1  # (SQLite counts its ranked join: see filter_queryset)


def unrelated(years):
    """A release that does not mention سورية, one in each of ``years``."""
    for year in years:
        make_release(
            body="بيان لا يذكر البلد.",
            published_on=datetime.date(year, 5, 1),
            published_precision="day",
        )


def test_a_word_in_most_recent_records_is_found_newest_first(english, matches, monkeypatch):
    """When most of the newest records match, a broad search's newest matches are found by
    walking the records newest first (search.plans("newest") on PostgreSQL): where they
    are not, through the index. Either way the same records."""
    from django.db import connection

    from statements import search
    from statements.models import Release

    monkeypatch.setattr(limits, "BROAD_SEARCH", 3)
    monkeypatch.setattr(search, "WALK_SAMPLE", 4)
    newest_three = {r.public_id for r in matches[2:]}
    published = Release.objects.published()
    matching = published.filter(body__contains="سورية")
    ordering = ["-published_on", "-public_id"]
    postgresql = connection.vendor == "postgresql"

    real_plans, active, seen = search.plans, [], []

    @contextmanager
    def recorded_plans(kind="index", using=None):
        active.append(kind)
        try:
            with real_plans(kind, using):
                yield
        finally:
            active.pop()

    def record(execute, sql, params, many, context):
        seen.append((active[-1] if active else None, sql))
        return execute(sql, params, many, context)

    monkeypatch.setattr(search, "plans", recorded_plans)

    def walked():
        seen.clear()
        with connection.execute_wrapper(record):
            response = listing(english, q="سورية")
        assert {r.public_id for r in response.context["object_list"]} == newest_three
        # The plan the newest three matches were found with: on PostgreSQL, the newest
        # four at once (the fourth says the search is broad); on SQLite, three once it is
        # known to be broad.
        (kind,) = [
            k for k, sql in seen if sql.startswith('SELECT "statements_release"."id" AS "pk"')
            and "ORDER BY" in sql and sql.endswith("LIMIT 4" if postgresql else "LIMIT 3")
            and ("search_vector" in sql or not postgresql)  # (not a sample of the records)
        ]  # fmt: skip
        return kind == "newest"

    assert search.dense(matching, published, ordering, 3) is postgresql
    assert walked() is postgresql
    unrelated(range(2016, 2020))  # newer records that do not match
    assert search.dense(matching, published, ordering, 3) is False
    assert walked() is False


def test_a_name_among_a_words_aliases_is_matched_by_its_words_first(client):
    """The name "Syrian Arab Republic", an alias of سورية: a record with the name alone is found,
    and on PostgreSQL its words are matched through the index before its text is read."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    named = make_release(body="Statement on the Syrian Arab Republic and its people.")
    other = make_release(body="Statement on the Arab League and a republic.")
    with CaptureQueriesContext(connection) as queries:
        response = listing(client, q="سورية")
    found = {r.public_id for r in response.context["object_list"]}
    assert named.public_id in found and other.public_id not in found
    if connection.vendor == "postgresql":
        words = "('arab') & ('republic') & ('syrian')"
        assert any(words in q["sql"].replace("''", "'") for q in queries)


@pytest.mark.parametrize("body", ["صدر قرار الأمم المتحده بشأن الأزمة.", "صدر قرار الامم المتحدة."])
def test_a_name_is_found_however_its_words_are_spelled(client, body):
    """A record with a name among a word's aliases, spelled with ه for ة or without the
    hamza ("الأمم المتحده" for الأمم المتحدة, an alias of UN), is found by the word and
    excluded with it, on both databases: what the index requires of it is only what every
    spelling shares (analysis.shared_tokens)."""
    named = make_release(body=body)
    make_release(body="صدر قرار آخر بشأن الأزمة.")
    found = {r.public_id for r in listing(client, q="UN").context["object_list"]}
    assert found == {named.public_id}
    kept = {r.public_id for r in listing(client, q="قرار -UN").context["object_list"]}
    assert named.public_id not in kept and kept


def test_a_word_common_lately_but_rare_before_is_not_walked(matches, monkeypatch):
    """The walk would read the whole archive for a word in the newest records only: the
    sample as deep as the walk would go says so."""
    from django.db import connection

    from statements import search
    from statements.models import Release

    monkeypatch.setattr(search, "WALK_SAMPLE", 4)
    published = Release.objects.published()
    matching = published.filter(body__contains="سورية")
    ordering = ["-published_on", "-public_id"]
    postgresql = connection.vendor == "postgresql"
    assert search.dense(matching, published, ordering, 3) is postgresql
    unrelated(range(2000, 2006))  # older records that do not match
    assert search.dense(matching, published, ordering, 3) is False


def search_queries(captured):
    """The queries that read the keys of published records matching a word (not the
    check of whether a word is rare enough to be widened, which reads three)."""
    return [
        q["sql"] for q in captured
        if q["sql"].startswith('SELECT "statements_release"."id" AS "pk"')
        and "search_vector @@" in q["sql"] and "\"status\" = 'published'" in q["sql"]
    ]  # fmt: skip


def test_a_broad_search_reads_its_matches_once(english, matches, monkeypatch):
    """Ranked by relevance, a broad search's newest matches also say that it is broad: on
    PostgreSQL one reading of the matches (the newest BROAD_SEARCH + 1), not a probe and
    then a second reading; the same results either way."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(limits, "BROAD_SEARCH", 3)
    unrelated(range(2016, 2030))  # newer records that do not match: the index, not a walk
    with CaptureQueriesContext(connection) as captured:
        response = listing(english, q="سورية")
    assert response.context["broad"]
    newest_three = {r.public_id for r in matches[2:]}
    assert {r.public_id for r in response.context["object_list"]} == newest_three
    reads = [sql for sql in search_queries(captured) if "LIMIT" in sql]
    if connection.vendor == "postgresql":
        assert len(reads) == 1 and "ORDER BY" in reads[0] and reads[0].endswith("LIMIT 4")


@pytest.mark.parametrize("older", [0, 2])
def test_a_walk_stops_at_its_bound(english, monkeypatch, older):
    """Two matches among the newest records, dense enough in both samples to be walked;
    the walk stops twice as deep as the sample went, and what it did not reach is found
    through the index: the two when they are all (``older`` 0), the newest three of four
    when two more are older than where the walk stopped (``older`` 2)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from statements import search

    monkeypatch.setattr(limits, "BROAD_SEARCH", 3)
    monkeypatch.setattr(search, "WALK_SAMPLE", 6)
    source = make_source()
    matching = []  # newest first
    # 24 records, newest first: the 4th and 5th match, and the last ``older``.
    for rank in range(24):
        says = rank in (3, 4) or rank >= 24 - older
        release = make_release(
            source=source,
            body="أكدت المنظمة موقفها من سورية." if says else "بيان لا يذكر البلد.",
            published_on=datetime.date(2030 - rank, 5, 1),
            published_precision="day",
        )
        if says:
            matching.append(release.public_id)
    with CaptureQueriesContext(connection) as captured:
        response = listing(english, q="سورية")
    found = {r.public_id for r in response.context["object_list"]}
    assert response.context["broad"] is bool(older)
    assert found == set(matching[:3])
    if not older:
        assert response.context["page_obj"].total == 2
    if connection.vendor == "postgresql":
        bounded = [sql for sql in search_queries(captured) if '"published_on" >=' in sql]
        assert len(bounded) == 1 and bounded[0].endswith("LIMIT 4")
