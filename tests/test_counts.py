"""Count tables (statements.counts): every facet count and total they give equals
counting the records, and they stay in step through every kind of edit.

The edits are also covered wherever a test calls listing.drift(), which compares the
count tables with a fresh computation (tests/test_listing_copies.py does after each
kind of edit); here, the answers themselves are compared with the live counts for
many filter combinations on a generated corpus with relays, drafts, unknown dates,
narrower topics and both listings.
"""

import random

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from statements import counts, facets, listing
from statements.filters import PositionFilter, ReleaseFilter
from statements.models import FacetContribution, FacetCount, Position, Release, Source, Topic
from tests.factories import make_position, make_release, make_source, make_topic

pytestmark = pytest.mark.django_db

STANCES = ["affirms", "supports", "calls_for", "condemns", "concern"]
BODIES = ["secretariat", "sg", "cfm", "unknown"]


@pytest.fixture
def corpus():
    call_command("generate_corpus", releases=60, seed=4, draft_share=0.15, verbosity=0)
    for release in Release.objects.published().order_by("pk")[:3]:  # dates not known
        release.published_on, release.published_precision = None, "unknown"
        release.save()
    cache.clear()


def filtersets(params):
    yield ReleaseFilter(QueryDict(params), queryset=Release.objects.published())
    yield PositionFilter(QueryDict(params), queryset=Position.objects.filter(is_public=True))


def both_ways(filterset):
    """(facet counts and total from the tables, the same counted from the records)."""
    assert filterset.is_valid(), filterset.errors
    filterset.qs  # noqa: B018 - runs the filters, as the listing does
    answers = []
    for tables in (True, False):
        facets.USE_COUNT_TABLES = tables
        cache.clear()
        try:
            shown = [
                (f.name, [(v.value, v.count, v.selected) for v in f.values])
                for f in facets.facets_for(filterset)
            ]
            answers.append((shown, facets.total(filterset)))
        finally:
            facets.USE_COUNT_TABLES = True
    return answers


def combinations(rng, n):
    topics = list(Topic.objects.values_list("slug", flat=True))
    places = list(Topic.objects.filter(kind="place").values_list("slug", flat=True))
    sources = list(Source.objects.values_list("slug", flat=True))
    choices = {
        "topic": lambda: rng.choice([*topics, "middle-east", "central-asia"]),
        "place": lambda: rng.choice(places),
        "stance": lambda: rng.choice(STANCES),
        "issuing_body": lambda: rng.choice(BODIES),
        "source": lambda: rng.choice(sources),
        "date_from": lambda: str(rng.randint(1992, 2026)),
        "date_to": lambda: str(rng.randint(1992, 2026)),
    }
    yield ""
    for _ in range(n):
        picked = rng.sample(sorted(choices), rng.randint(1, 4))
        params = {name: choices[name]() for name in picked}
        if "date_from" in params and "date_to" in params:
            low, high = sorted([params["date_from"], params["date_to"]])
            params["date_from"], params["date_to"] = low, high
        yield "&".join(f"{k}={v}" for k, v in params.items())


def test_every_count_equals_counting_the_records(corpus):
    assert Release.relayed_from.through.objects.exists()  # relays are counted too
    assert Release.objects.filter(published_precision="unknown", status="published").exists()
    rng = random.Random(8)
    answered = 0
    for params in combinations(rng, 70):
        for filterset in filtersets(params):
            tables, records = both_ways(filterset)
            assert tables == records, params
            answered += facets.table_filters(filterset.form.cleaned_data) is not None
    assert answered > 60  # most combinations were answered from the tables


def test_a_few_combinations_of_held_values_are_read_one_by_one(corpus):
    """Positions of one source by stance and by body: on PostgreSQL the free stance and body
    columns, held to their values before the source in the index, are read combination by
    combination (PostgreSQL 15 filtered every sum of "p" with arrays); more combinations
    than MAX_SEEKS keep the arrays. The same counts as counting the records, either way."""
    source = Source.objects.filter(releases__status="published").first()
    for params in [f"source={source.slug}", f"source={source.slug}&date_from=2005"]:
        for filterset in filtersets(params):
            with CaptureQueriesContext(connection) as captured:
                tables, records = both_ways(filterset)
            assert tables == records, params
            seeks = [q["sql"] for q in captured if "CROSS JOIN LATERAL" in q["sql"]]
            if connection.vendor == "postgresql" and filterset.queryset.model is Position:
                assert any("AS v1(body)" in sql for sql in seeks), params
            if connection.vendor != "postgresql":
                assert not seeks
    answer = counts.lookup("p", {"source": source.pk}, "stance")
    counted = Position.objects.filter(is_public=True, release_source=source)
    relayed = Position.objects.filter(is_public=True, release__relayed_from=source)
    expected = {}
    for stance in (counted | relayed).distinct().values_list("stance", flat=True):
        expected[stance] = expected.get(stance, 0) + 1
    assert answer == expected


@pytest.mark.parametrize(
    "params",
    [
        "date_from=2010-03",  # a partial year
        "date_to=2020-06-15",
        "q=سورية",  # a search
        "date_from=2001&q=المنظمة",
    ],
)
def test_what_the_tables_cannot_say_is_counted_from_the_records(corpus, params):
    for filterset in filtersets(params):
        assert filterset.is_valid()
        assert facets.table_filters(filterset.form.cleaned_data) is None
        tables, records = both_ways(filterset)
        assert tables == records


@pytest.mark.parametrize(
    "params",
    [
        "",
        # A theme, with the place facet (topic pairs) and whole years.
        "topic=counter-terrorism&date_from=2001&date_to=2020",
        # The benchmark's "3 filters" and "topic + stance + dates" (pairs by stance).
        "topic=counter-terrorism&stance=affirms&date_from=2001",
        "topic=counter-terrorism&stance=affirms&date_from=2001&date_to=2020",
        # A place with the topic facet.
        "place=central-asia&date_from=2005",
        # A place as topic: the place facet counts places with a place (same-facet pairs).
        "topic=syria",
        "topic=kazakhstan&date_from=2001",
        # Two topics at once, of either facet: a pair, with each facet. (With a third
        # filter, stance say, the body and source facets are counted from the records.)
        "topic=counter-terrorism&place=syria&date_from=2001",
        "topic=tajikistan&place=central-asia",
    ],
)
def test_a_listing_counts_from_the_tables_alone(corpus, params):
    for filterset in filtersets(params):
        assert filterset.is_valid(), filterset.errors
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            facets.facets_for(filterset)
            facets.total(filterset)
        tables = {FacetCount._meta.db_table, "statements_topic", "statements_source"}
        read = {q["sql"] for q in captured if "statements_listinggeneration" not in q["sql"]}
        for sql in read:
            assert any(f'"{t}"' in sql or f" {t} " in sql for t in tables), sql
        tables, records = both_ways(filterset)
        assert tables == records
        # Something counted (equal zeros would prove nothing): the total, or the facets'.
        shown, total = records
        assert total or any(count for _name, values in shown for _v, count, _s in values)


@pytest.mark.parametrize("params", ["issuing_body=secretariat", "source=tass", "stance=affirms"])
def test_a_listing_reads_each_lookup_once(corpus, params):
    """Without a topic filter the topic and the place facets ask the same lookup: read
    once (twice was 2 × 0.7 s for ?issuing_body= at 100,000 releases), from a small kind."""
    for filterset in filtersets(params):
        assert filterset.is_valid(), filterset.errors
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            facets.facets_for(filterset)
        lookups = [
            (q["sql"], q.get("params")) for q in captured if FacetCount._meta.db_table in q["sql"]
        ]
        assert lookups
        assert len(lookups) == len(set(lookups)), lookups
        # By topic with one of body, source or stance: the small kinds, not the million
        # sums of px or rx.
        assert not any("'px'" in sql or "'rx'" in sql for sql, _ in lookups), lookups


def test_lookup_refuses_what_its_kind_lacks():
    # Co-occurring topics by stance with issuing body or source: no kind has topic pairs
    # with two of those; nor three topics at once.
    assert counts.lookup("p", {"topic": 1, "body": "sg", "stance": "affirms"}, "topic") is None
    assert counts.lookup("r", {"topic": 1, "source": 2, "stance": "affirms"}, "topic") is None
    assert counts.lookup("p", {"topic": 1, "pair": 2}, "topic") is None
    assert counts.lookup("p", {"topic": 1, "pair": 2, "stance": "affirms"}, "body") is None
    assert counts.lookup("p", {"topic": 1, "body": "sg"}, "topic") == {}
    assert counts.lookup("r", {"topic": 1, "pair": 2, "source": 2}) == 0
    assert counts.lookup("r", {"topic": 1, "stance": "affirms"}, "topic") == {}
    assert counts.lookup("p", {"stance": "affirms"}) == 0
    assert counts.lookup("p", {"topic": 1, "body": "sg"}) == 0


def test_edits_move_the_counts(corpus):
    """Publishing, withdrawing, relays, deleting, moving a topic: the tables follow."""
    release = Release.objects.filter(status="draft").first()
    release.status = Release.Status.PUBLISHED
    release.save()
    assert counts.drift() == []
    published = Release.objects.filter(status="published").first()
    published.relayed_from.add(make_source())
    assert counts.drift() == []
    published.status = Release.Status.WITHDRAWN
    published.withdrawal_reason = "اختبار"
    published.save()
    assert counts.drift() == []
    Position.objects.filter(release=release).first().delete()
    assert counts.drift() == []
    iraq = Topic.objects.get(slug="iraq")
    iraq.parent = Topic.objects.get(slug="central-asia")  # a codebook correction
    iraq.save()
    assert counts.drift() == []
    draft = make_release(status=Release.Status.DRAFT)
    make_position(release=draft)
    draft.delete()
    assert counts.drift() == []
    relaying = make_source()
    published = Release.objects.filter(status="published").last()
    published.relayed_from.add(relaying)
    relaying.delete()  # its relay links go by cascade
    assert counts.drift() == []
    assert listing.drift() == []
    rng = random.Random(2)
    for params in combinations(rng, 15):
        for filterset in filtersets(params):
            tables, records = both_ways(filterset)
            assert tables == records, params


def stored_counts():
    shares = FacetContribution.objects.order_by(*COLUMNS, "release_id")
    return (
        list(FacetCount.objects.order_by(*COLUMNS).values_list(*COLUMNS, "n")),
        list(shares.values_list("release_id", *COLUMNS, "n")),
    )


def page_cache():
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        return cursor.fetchone()[0]


COLUMNS = ["kind", "topic", "pair", "stance", "body", "source", "year", "relay"]


@pytest.mark.parametrize("step", [1, 7, 1000])
def test_a_rebuild_by_chunks_of_releases_counts_as_one_statement(corpus, monkeypatch, step):
    """SQLite recounts the archive a chunk of releases at a time (one statement did not
    finish at 100,000 releases); chunks of any size, over ids with gaps (deleted
    drafts), give what one statement gives."""
    drafts = Release.objects.filter(status="draft").order_by("pk")
    assert drafts.count() > 4
    Release.objects.filter(pk__in=list(drafts.values_list("pk", flat=True)[1:4])).delete()
    monkeypatch.setattr(counts, "REBUILD_CHUNK", {})
    counts.rebuild()
    whole = stored_counts()
    assert whole[0] and whole[1]
    monkeypatch.setattr(counts, "REBUILD_CHUNK", {connection.vendor: step})
    cache_size = page_cache()
    with CaptureQueriesContext(connection) as queries:
        counts.rebuild(bulk=True)
    assert page_cache() == cache_size  # (SQLite's page cache raised for the while)
    assert stored_counts() == whole
    assert counts.drift() == []
    summing = [q["sql"] for q in queries.captured_queries if "BETWEEN" in q["sql"]]
    ids = Release.objects.order_by("pk").values_list("pk", flat=True)
    assert len(summing) == 2 * -(-(ids.last() - ids.first() + 1) // step)


def test_a_rebuild_of_an_empty_archive_counts_nothing(monkeypatch):
    monkeypatch.setattr(counts, "REBUILD_CHUNK", {connection.vendor: 3})
    counts.rebuild()
    assert stored_counts() == ([], [])
    assert counts.drift() == []


def test_a_check_of_some_releases_finds_what_their_edits_can_break(corpus):
    """drift(releases=...) checks those releases' shares and copies, and the sums they
    count in, in seconds at any size (bench/editors.py checks its edits so); what it
    finds, the whole check finds too."""
    edited, other = Release.objects.published().exclude(published_on=None).order_by("pk")[:2]
    edited.title += " [تعديل]"
    edited.body += "\nوأكدت المنظمة موقفها."
    edited.save()
    assert listing.drift(releases=[edited.pk]) == [] == listing.drift()

    share = FacetContribution.objects.filter(release_id=edited.pk, kind="p").first()
    FacetContribution.objects.filter(pk=share.pk).update(n=share.n + 1)
    found = counts.drift(releases=[edited.pk])
    assert any(p.startswith("stale share") for p in found)
    assert any(p.startswith("missing share") for p in found)
    FacetContribution.objects.filter(pk=share.pk).update(n=share.n)

    group = {c: getattr(share, c) for c in counts.COLUMNS.split(", ")}
    FacetCount.objects.filter(**group).update(n=F("n") + 1)
    found = counts.drift(releases=[edited.pk])
    assert [p.split(":")[0] for p in found] == ["missing sum", "stale sum"]
    assert found == counts.drift()
    FacetCount.objects.filter(**group).update(n=F("n") - 1)

    Position.objects.filter(release=edited).update(is_public=False)
    found = listing.drift(releases=[edited.pk])
    assert found and all(f"position {p.pk}:" in " ".join(found) for p in edited.positions.all())
    assert not any(p.startswith("position") for p in listing.drift(releases=[other.pk]))


def test_a_release_relayed_by_its_own_source_counts_once():
    source = make_source()
    release = make_release(source=source)
    make_position(release=release, stance="supports")
    release.relayed_from.add(source)  # nothing forbids recording it
    for filterset in filtersets(f"source={source.slug}"):
        tables, records = both_ways(filterset)
        assert tables == records
        assert tables[1] == 1
    assert counts.drift() == []


def test_orphaned_positions_count_nowhere():
    """A published release may keep a position whose passage an edit removed (hidden from
    readers until placed again): no facet counts it, whichever way it is counted."""
    release = make_release(body="أكدت المنظمة دعمها للحوار. وأدانت الهجمات.")
    make_position(release=release, start=0, end=4, quote="أكدت", stance="supports")
    orphan = make_position(release=release, start=27, end=32, quote="وأدان", stance="condemns")
    Position.objects.filter(pk=orphan.pk).update(orphaned=True)
    listing.refresh([release.pk])
    for filterset in filtersets(""):
        tables, records = both_ways(filterset)
        assert tables == records
        stance = dict((name, values) for name, values in tables[0])["stance"]
        assert [value for value, _n, _selected in stance] == ["supports"]


def test_a_broad_search_exports_every_match(client, monkeypatch):
    from django.urls import reverse

    from statements import limits

    source = make_source()
    for _ in range(5):
        make_release(source=source, body="أكدت المنظمة موقفها من سورية في بيانها.")
    monkeypatch.setattr(limits, "BROAD_SEARCH", 2)
    url = reverse("statements:export", args=["releases", "csv"])
    response = client.get(url, {"q": "سورية"})
    rows = b"".join(response.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert len(rows) == 1 + 5


def test_topic_pages_and_the_home_page_count_from_the_tables(corpus, client):
    """Topics' own counts, each topic page's total and related topics, and the home page's
    totals: from the count tables, equal to counting the records."""
    from django.db.models import Count

    from statements.models import TopicEntry

    public = TopicEntry.objects.filter(is_public=True)
    recorded = dict(public.values_list("topic").annotate(n=Count("position")).order_by())
    assert counts.pairs() == recorded
    for topic in Topic.objects.all():
        under = public.filter(topic__in=topic.descendant_ids()).values("position")
        shared = dict(
            TopicEntry.objects.filter(position__in=under)
            .values_list("topic")
            .annotate(n=Count("position", distinct=True))
            .order_by()
        )
        assert counts.pairs(topic.pk) == shared, topic.slug
        total = Position.objects.filter(is_public=True, pk__in=under).count()
        assert counts.lookup("p", {"topic": topic.pk}) == total
    busiest = max(recorded, key=recorded.get)
    topic = Topic.objects.get(pk=busiest)
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(topic.get_absolute_url())
    assert response.status_code == 200
    assert response.context["page_obj"].total == counts.lookup("p", {"topic": topic.pk})
    related = [(t.pk, t.shared) for t in response.context["related"]]
    assert related and all(pk not in topic.descendant_ids() for pk, _n in related)
    assert not [q for q in captured if "COUNT(" in q["sql"].upper()]  # no count of records
    cache.clear()
    home = client.get("/").context["counts"]
    assert home["positions"] == Position.objects.filter(is_public=True).count()
    assert home["releases"] == Release.objects.published().count()


def untabled():
    """A topic with a stance and a body that some public position has: the place facet
    (which keeps the topic filter) then needs topic pairs by both, which no count table
    keeps, so it is counted from the records (statements.facets)."""
    position = (
        Position.objects.filter(is_public=True, topics__parent__isnull=True)
        .exclude(issuing_body="unknown")
        .order_by("pk")
        .first()
    )
    topic = position.topics.filter(parent__isnull=True).order_by("pk").first()
    return {"topic": topic.slug, "stance": position.stance, "issuing_body": position.issuing_body}


def live_counts(client, url, params, **headers):
    """The response, and the count queries it made that did not read the count tables
    (a page's own query, LIMITed, may count positions per release)."""
    seen = []

    def wrapper(execute, sql, params_, many, context):
        seen.append(sql)
        return execute(sql, params_, many, context)

    cache.clear()
    with connection.execute_wrapper(wrapper):
        response = client.get(url, params, **headers)
    assert response.status_code == 200
    return response, [
        s for s in seen if "COUNT(" in s and FacetCount._meta.db_table not in s and "LIMIT" not in s
    ]


def facet_named(response, name):
    return next(f for f in response.context["facets"] if f.name == name)


@pytest.mark.parametrize("url", ["/releases/", "/positions/"])
def test_a_facet_the_tables_cannot_say_is_counted_from_few_records(corpus, client, url):
    response, counted = live_counts(client, url, untabled())
    assert counted  # from the records
    places = facet_named(response, "place")
    assert not places.uncounted and places.values
    filterset = next(f for f in filtersets("&".join(f"{k}={v}" for k, v in untabled().items())))
    tables, records = both_ways(filterset)
    assert tables == records


@pytest.mark.parametrize("url", ["/releases/", "/positions/"])
def test_a_broader_place_counted_from_the_records_leaves_hidden_positions_out(client, url):
    """A release whose only position on a narrower place is hidden (orphaned: its passage
    left the text) is on that place for nobody: the place's count from the records, as
    from the tables, leaves it out."""
    region = make_topic(kind=Topic.Kind.PLACE)
    country = make_topic(kind=Topic.Kind.PLACE, parent=region)
    theme = make_topic()
    release = make_release(issuing_body="sg", body="دعت المنظمة إلى الحوار.\nوأيدت الاتفاق.")
    make_position(release, quote="دعت المنظمة", topics=[theme], stance="affirms")
    hidden = make_position(release, quote="وأيدت الاتفاق", topics=[country])
    shown = make_release(issuing_body="sg", body="دعت المنظمة إلى الحوار.\nوأيدت الاتفاق.")
    make_position(shown, quote="دعت المنظمة", topics=[theme, country], stance="affirms")
    make_position(shown, quote="وأيدت الاتفاق", topics=[country])
    Position.objects.filter(pk=hidden.pk).update(orphaned=True)
    listing.refresh([release.pk])
    assert listing.drift() == []

    params = {"topic": theme.slug, "stance": "affirms", "issuing_body": "sg"}
    response, counted = live_counts(client, url, params)
    assert counted  # the place facet, from the records
    places = {v.value: v.count for v in facet_named(response, "place").values}
    # The region: the second release (and its position with that stance) only.
    assert places.get(region.slug) == 1
    for filterset in filtersets("&".join(f"{k}={v}" for k, v in params.items())):
        tables, records = both_ways(filterset)
        assert tables == records


@pytest.mark.parametrize("url", ["/releases/", "/positions/"])
def test_a_facet_that_would_count_too_many_records_is_not_counted(corpus, client, monkeypatch, url):
    monkeypatch.setattr("statements.limits.LIVE_COUNTS", 0)
    response, counted = live_counts(client, url, untabled())
    assert counted == []  # no count of the records at all
    places = facet_named(response, "place")
    assert places.uncounted and places.values == []
    note = "لا تُعرض الأعداد هنا لكثرة النتائج"
    assert response.text.count(note) == len([f for f in response.context["facets"] if f.uncounted])
    # The facets the tables can say are counted as ever, and the page lists its results.
    assert facet_named(response, "topic").values and not facet_named(response, "topic").uncounted
    assert response.context["page_obj"].object_list
    client.cookies["django_language"] = "en"
    english, _ = live_counts(client, url, untabled())
    assert "Not counted for this many results." in english.text
    # Filters the tables can say need no bound: ?stance= alone is counted whole.
    plain, counted = live_counts(client, url, {"stance": "affirms"})
    assert counted == [] and not any(f.uncounted for f in plain.context["facets"])


def test_the_bound_leaves_a_source_filter_out(corpus):
    """A source filter (published or relayed by) narrows the results, not what counting
    them reads: the bound is that of the listing without it."""
    data = PositionFilter(
        QueryDict("place=syria&stance=affirms&source=tass"),
        queryset=Position.objects.filter(is_public=True),
    )
    assert data.is_valid(), data.errors
    cleaned = data.form.cleaned_data
    without_source = PositionFilter(
        QueryDict("place=syria&stance=affirms"), queryset=Position.objects.filter(is_public=True)
    )
    assert without_source.is_valid()
    expected = without_source.qs.count()
    assert expected > data.qs.count()  # the source narrows the results
    assert facets.at_most(Position, cleaned, ("topic",), {}) == expected


def test_no_bound_when_the_tables_cannot_say(corpus):
    """A search is bounded by limits.BROAD_SEARCH instead; with the tables off, the
    records are counted (the tests compare the two)."""
    data = ReleaseFilter(QueryDict("q=سورية&topic=syria"), queryset=Release.objects.published())
    assert data.is_valid()
    assert facets.at_most(Release, data.form.cleaned_data, ("place",), {}) is None


@pytest.mark.parametrize("url", ["/releases/", "/positions/"])
def test_every_facet_may_go_uncounted_with_its_value_chosen(corpus, client, monkeypatch, url):
    """A topic, a place, a stance, a body and a source at once: the facets that the tables
    cannot count are left uncounted, the chosen source's among them, and the page is whole."""
    position = next(
        p
        for p in Position.objects.filter(is_public=True).order_by("pk")
        if p.topics.filter(kind="place").exists() and p.topics.exclude(kind="place").exists()
    )
    params = {
        "topic": position.topics.exclude(kind="place").order_by("pk").first().slug,
        "place": position.topics.filter(kind="place").order_by("pk").first().slug,
        "stance": position.stance,
        "issuing_body": position.issuing_body,
        "source": position.release.source.slug,
    }
    monkeypatch.setattr("statements.limits.LIVE_COUNTS", 0)
    monkeypatch.setattr("statements.limits.KEYS_FIRST", 0)  # (which would count the keys)
    response, counted = live_counts(client, url, params)
    # Only the total, which the tables cannot say for five filters: one count of the results.
    assert [sql.startswith('SELECT COUNT(*) AS "__count"') for sql in counted] == [True]
    uncounted = {f.name for f in response.context["facets"] if f.uncounted}
    assert "source" in uncounted
    assert response.context["page_obj"].object_list


def test_a_date_range_in_part_of_a_year_is_bounded_by_its_whole_years(corpus):
    """The tables count whole years: a range from March to May of a year is bounded by
    that year's records, not by the whole archive's."""
    year = (
        Position.objects.filter(is_public=True, release_precision="day")
        .order_by("release_date")
        .values_list("release_date__year", flat=True)
        .first()
    )
    data = PositionFilter(
        QueryDict(f"date_from={year}-03&date_to={year}-05"),
        queryset=Position.objects.filter(is_public=True),
    )
    assert data.is_valid(), data.errors
    assert facets.table_filters(data.form.cleaned_data) is None  # not whole years
    whole_year = Position.objects.filter(is_public=True, release_date__year=year).exclude(
        release_precision="unknown"
    )
    bound = facets.at_most(Position, data.form.cleaned_data, ("topic",), {})
    assert bound == whole_year.count() < Position.objects.filter(is_public=True).count()
