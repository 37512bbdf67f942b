"""A listing the count tables say is small reads its results' keys first, then orders
those records (statements.filters.ArchiveFilterSet.few_matches): the same pages, the
same totals and the same exports as walking the ordering's index, on a generated corpus."""

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from statements.models import Position, Source

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus():
    call_command("generate_corpus", releases=80, seed=7, verbosity=0)
    cache.clear()


def rare_filters():
    """Filter sets of a position that some others share: two topics and a source (the
    case that walked most of the archive), a topic with a stance, a source with dates."""
    position = next(
        p
        for p in Position.objects.filter(is_public=True).order_by("pk")
        if p.topics.filter(kind="place").exists() and p.topics.exclude(kind="place").exists()
    )
    topic = position.topics.exclude(kind="place").order_by("pk").first().slug
    place = position.topics.filter(kind="place").order_by("pk").first().slug
    source = position.release.source.slug
    year = position.release.published_on.year
    return [
        {"topic": topic, "place": place, "source": source},
        {"topic": topic, "place": place},
        {"place": place, "stance": position.stance, "source": source},
        {"topic": topic, "stance": position.stance, "issuing_body": position.issuing_body},
        {"topic": topic, "date_from": str(year - 3), "date_to": str(year + 3), "source": source},
    ]


def pages(client, url, params, size_of_walk=None):
    """Every page of the listing, forward then back: [(total, [public ids...]), ...], and
    whether its results' keys were read first."""
    cache.clear()
    seen, query, read_first = [], dict(params), set()
    while True:
        response = client.get(url, query)
        assert response.status_code == 200
        if not seen:  # the facets, counted from the keys read or from the filters
            seen.append(shown_facets(response))
        page = response.context["page_obj"]
        read_first.add(response.context["filter"].match_count is not None)
        seen.append((page.total, [str(r.pk) for r in page.object_list]))
        if not page.has_next:
            break
        query = {**params, **{k: v for k, v in page.next_query.items() if v}}
    while page.has_previous:
        query = {**params, **{k: v for k, v in page.previous_query.items() if v}}
        page = client.get(url, query).context["page_obj"]
        seen.append((page.total, [str(r.pk) for r in page.object_list]))
    return seen, read_first


def shown_facets(response):
    return [
        (f.name, f.uncounted, [(v.value, v.count, v.selected) for v in f.values])
        for f in response.context["facets"]
    ]


@pytest.mark.parametrize("url", ["/releases/", "/positions/"])
@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_the_same_pages_as_walking_the_index(corpus, client, monkeypatch, url, order):
    monkeypatch.setattr("statements.views.ArchiveListView.paginate_by", 3)
    compared = 0
    for params in rare_filters():
        params = {**params, "o": order}
        first, read_first = pages(client, url, params)
        with monkeypatch.context() as off:
            off.setattr("statements.limits.KEYS_FIRST", 0)
            walked, walked_first = pages(client, url, params)
        assert first == walked, params
        assert walked_first == {False}
        compared += read_first == {True}
    assert compared >= 3  # most of these filter sets were read keys first


def test_a_listing_one_topics_entries_walk_is_walked(corpus, client):
    """A topic with a stance: its entries carry both and their index stops after the page."""
    params = rare_filters()[3]
    response = client.get("/positions/", params)
    assert response.context["filter"].match_count is None


def test_more_results_than_the_tables_said_are_read_the_usual_way(corpus, client, monkeypatch):
    """The tables bound the reading of the keys; a listing with more results than that
    (tables out of step) is read the usual way, whole."""
    params = rare_filters()[1]
    expected, _ = pages(client, "/positions/", params)
    total = expected[1][0]
    assert total >= 3
    monkeypatch.setattr("statements.limits.KEYS_FIRST", total - 1)
    monkeypatch.setattr("statements.facets.at_most", lambda *args: 1)
    found, read_first = pages(client, "/positions/", params)
    assert found == expected and read_first == {False}


@pytest.mark.parametrize("listing", ["releases", "positions"])
def test_exports_are_the_same(corpus, client, monkeypatch, listing):
    for params in rare_filters():
        url = reverse("statements:export", args=[listing, "csv"])
        first = b"".join(client.get(url, params).streaming_content)
        with monkeypatch.context() as off:
            off.setattr("statements.limits.KEYS_FIRST", 0)
            walked = b"".join(client.get(url, params).streaming_content)
        assert first == walked, params
        assert first.count(b"\n") > 1 or not Source.objects.exists()


def test_the_keys_are_read_in_one_query_without_ordering(corpus, client):
    params = rare_filters()[0]
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/positions/", params)
    assert response.context["filter"].match_count is not None
    read = 'SELECT "statements_position"."id" AS "pk" FROM'
    reads = [q["sql"] for q in queries if q["sql"].startswith(read)]
    assert len(reads) == 1 and "ORDER BY" not in reads[0]  # not again for the facets


def test_a_searchs_facets_are_counted_from_its_keys(corpus, client):
    """A search's results (at most limits.BROAD_SEARCH, their keys read) are counted by
    key for the facets whose own filter is not in use: the counts of its results."""
    from collections import Counter

    response = client.get("/positions/", {"q": "المنظمة"})
    filterset = response.context["filter"]
    assert filterset.found is not None and filterset.match_count > 20
    results = Position.objects.filter(pk__in=filterset.found)
    facets = {name: values for name, _, values in shown_facets(response)}
    for name in ("stance", "issuing_body"):
        expected = Counter(getattr(p, name) for p in results)
        assert {value: n for value, n, _ in facets[name]} == dict(expected), name
