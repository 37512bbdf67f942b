"""The listings' fast shape: copies kept in step, cached counts never stale, keyset pages.

statements.listing.drift() compares every copy with what it copies; each test
makes one kind of edit, through the public surface where there is one, and
asserts there is no drift.
"""

import datetime
import itertools
import re
from contextlib import contextmanager
from html import unescape
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from statements import listing
from statements.management.commands.rebuild_listings import LIMIT
from statements.models import DatePrecision, Position, Release, TopicEntry
from tests.factories import (
    admin_url,
    make_position,
    make_release,
    make_source,
    make_topic,
    release_form_data,
    run_action,
)

POSITIONS = reverse("statements:position-list")
RELEASES = reverse("statements:release-list")

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages_built(settings):
    """Every request builds its page: these tests look at the view's context and queries,
    which a copy kept for the next reader (statements.middleware) does not have."""
    settings.PAGE_CACHE_SECONDS = 0


def dated(day=None, precision=DatePrecision.DAY, **kwargs):
    if day is None:
        return make_release(**kwargs)
    return make_release(published_on=day, published_precision=precision, **kwargs)


class TestCopiesStayInStep:
    def test_new_records(self):
        topic = make_topic()
        make_position(dated(datetime.date(2019, 3, 1)), topics=[topic, make_topic()])
        make_position(dated(status=Release.Status.DRAFT), topics=[topic])
        assert listing.drift() == []
        assert TopicEntry.objects.filter(topic=topic).count() == 2
        assert TopicEntry.objects.filter(topic=topic, is_public=True).count() == 1

    def test_release_edits_reach_its_positions(self):
        release = dated(datetime.date(2019, 3, 1))
        position = make_position(release, topics=[make_topic()])
        release.published_on = datetime.date(2020, 1, 1)
        release.published_precision = DatePrecision.YEAR
        release.source = make_source()
        release.issuing_body = Release.IssuingBody.SECRETARY_GENERAL
        release.save()
        assert listing.drift() == []
        position.refresh_from_db()
        assert (position.release_date, position.release_source) == (
            datetime.date(2020, 1, 1),
            release.source,
        )

    def test_withdrawing_takes_positions_out_of_the_listings(self, client):
        topic = make_topic()
        release = dated(datetime.date(2019, 3, 1))
        make_position(release, topics=[topic])
        assert client.get(POSITIONS, {"topic": topic.slug}).context["page_obj"].total == 1
        release.status = Release.Status.WITHDRAWN
        release.withdrawal_reason = "نشر خطأ"
        release.save()
        assert listing.drift() == []
        response = client.get(POSITIONS, {"topic": topic.slug})
        assert response.context["page_obj"].total == 0
        assert not response.context["object_list"]

    def test_stance_and_topics_from_both_sides(self):
        first, second = make_topic(), make_topic()
        position = make_position(topics=[first])
        position.stance = Position.Stance.CONDEMNS
        position.save()
        assert listing.drift() == []
        position.topics.add(second)
        assert listing.drift() == []
        position.topics.remove(first)
        assert listing.drift() == []
        second.positions.remove(position)
        assert listing.drift() == []
        second.positions.add(position, make_position(topics=[first]))
        assert listing.drift() == []
        second.positions.clear()
        assert listing.drift() == []
        position.topics.set([first, second])
        position.topics.clear()
        assert listing.drift() == []
        assert TopicEntry.objects.filter(position=position).count() == 0

    def test_deletions(self):
        topic = make_topic()
        position = make_position(topics=[topic])
        other = make_position(topics=[topic])
        position.delete()
        assert listing.drift() == []
        other.release.delete()
        assert listing.drift() == [] and not TopicEntry.objects.exists()
        make_position(topics=[topic])
        topic.delete()
        assert listing.drift() == []

    def test_the_admin_workflow(self, editor_client, publisher_client):
        topic = make_topic()
        release = dated(datetime.date(2021, 5, 5), status=Release.Status.DRAFT)
        make_position(release, topics=[topic])
        data = release_form_data(release, dateline="موسكو", published_on="2021-06-01")
        response = editor_client.post(admin_url(Release, "change", release.pk), data)
        assert response.status_code == 302, response.context and response.context["errors"]
        run_action(editor_client, "submit_for_review", release)
        run_action(publisher_client, "publish", release)
        assert Release.objects.get(pk=release.pk).status == Release.Status.PUBLISHED
        assert listing.drift() == []
        assert Position.objects.get(release=release).release_date == datetime.date(2021, 6, 1)

    def test_rebuild_command_repairs_and_reports(self):
        make_position(topics=[make_topic()])
        Position.objects.update(is_public=False, release_public_id=None)
        TopicEntry.objects.all().delete()
        problems = listing.drift()
        copies = [p for p in problems if not p.startswith("facet counts: ")]
        assert len(copies) == 3
        # The counts were made from the copies as they were: out of step with them too.
        assert len(problems) > 3
        out = StringIO()
        call_command("rebuild_listings", stdout=out)
        assert listing.drift() == []
        shown = f"more than {LIMIT}" if len(problems) > LIMIT else len(problems)
        assert f"Listing copies out of step: {shown}." in out.getvalue()
        TopicEntry.objects.update(stance=Position.Stance.WARNS)
        problems = listing.drift()
        assert [p.split(" should be ")[0] for p in problems if p.startswith("listing entry")] == [
            f"listing entry {row}" for row in TopicEntry.objects.values_list(*listing.ENTRY_FIELDS)
        ]
        checked = call_command_output("rebuild_listings", "--check")
        shown = f"more than {LIMIT}" if len(problems) > LIMIT else len(problems)
        assert f"out of step: {shown}." in checked


def call_command_output(*args):
    out = StringIO()
    try:
        call_command(*args, stdout=out)
    except SystemExit as exit:
        assert exit.code == 1  # --check with something out of step
    return out.getvalue()


@pytest.mark.usefixtures("pages_built")
class TestCachedCounts:
    def test_a_publication_is_counted_at_once(self, client):
        topic = make_topic()
        make_position(dated(datetime.date(2019, 3, 1)), topics=[topic])
        first = client.get(POSITIONS, {"topic": topic.slug})
        assert first.context["page_obj"].total == 1
        draft = dated(datetime.date(2019, 4, 1), status=Release.Status.DRAFT)
        make_position(draft, topics=[topic])
        assert client.get(POSITIONS, {"topic": topic.slug}).context["page_obj"].total == 1
        draft.status = Release.Status.PUBLISHED
        draft.save()
        response = client.get(POSITIONS, {"topic": topic.slug})
        assert response.context["page_obj"].total == 2
        stance = next(f for f in response.context["facets"] if f.name == "stance")
        assert [v.count for v in stance.values] == [2]

    def test_a_listing_seen_before_costs_no_count_query(self, client):
        topic = make_topic()
        for _ in range(3):
            make_position(dated(datetime.date(2019, 3, 1)), topics=[topic])

        def run():
            with CaptureQueriesContext(connection) as captured:
                response = client.get(RELEASES, {"topic": topic.slug})
            assert response.context["page_obj"].total == 3
            return [q["sql"] for q in captured.captured_queries]

        cold, warm = run(), run()
        # No total, and none of the facets' grouped counts (6 facets and the total: at
        # least a query each, from the count tables or the records).
        assert not [sql for sql in warm if sql.upper().startswith("SELECT COUNT(")]
        assert not [sql for sql in warm if "statements_facetcount" in sql]
        assert len(cold) - len(warm) >= 7, "\n".join(warm)


def walk(client, url, params, direction="next"):
    """Every page's ids, following the rel=next (or rel=prev) links from the page at url."""
    pages = []
    query = dict(params)
    while True:
        assert len(pages) < 50, "a page link leads back (or on) without an end"
        response = client.get(url, query)
        assert response.status_code == 200
        pages.append([obj.pk for obj in response.context["object_list"]])
        found = re.search(rf'rel="{direction}" href="([^"]+)"', response.text)
        if not found:
            return pages, response
        query = {k: v[0] for k, v in parse_qs(urlsplit(unescape(found.group(1))).query).items()}
        for key, value in params.items():
            if key not in ("after", "before"):
                assert query.get(key) == value, "a page link dropped a filter"


@pytest.fixture
def archive():
    """45 positions over releases with shared days, shared identifiers' days, mixed
    precisions and no date at all, one of them a draft."""
    topic = make_topic()
    days = [
        datetime.date(2018, 11, 8),
        datetime.date(2018, 11, 8),
        datetime.date(2018, 1, 1),
        None,
        datetime.date(2020, 5, 1),
        None,
        datetime.date(2018, 11, 8),
    ]
    body = "منظمة معاهدة الأمن الجماعي " * 8
    for i in range(15):
        day = days[i % len(days)]
        precision = DatePrecision.YEAR if day == datetime.date(2018, 1, 1) else DatePrecision.DAY
        release = dated(day, precision, body=body) if day else dated(body=body)
        for n in range(3):
            start = 27 * n
            make_position(release, quote="منظمة", start=start, end=start + 5, topics=[topic])
    make_position(dated(status=Release.Status.DRAFT, body=body), quote="منظمة", topics=[topic])
    return topic


def expected(model, oldest=False, topic=None):
    if model is Position:
        rows = Position.objects.filter(release__status="published").select_related("release")
        if topic is not None:
            rows = rows.filter(topics=topic)
        key = lambda p: (p.release.published_on, p.release.public_id)  # noqa: E731
        number = lambda p: p.number  # noqa: E731
    else:
        rows = Release.objects.published()
        key = lambda r: (r.published_on, r.public_id)  # noqa: E731
        number = lambda r: 0  # noqa: E731
    rows = list(rows)
    # Newest: latest first, a release's positions in their order; oldest: all ascending.
    sign = 1 if oldest else -1
    dated_rows = sorted((r for r in rows if key(r)[0]), key=lambda r: (key(r), sign * number(r)))
    undated = sorted(
        (r for r in rows if not key(r)[0]), key=lambda r: (key(r)[1], sign * number(r))
    )
    if not oldest:
        dated_rows.reverse()
        undated.reverse()
    return [r.pk for r in dated_rows + undated]


@pytest.mark.usefixtures("pages_built")
class TestKeysetPages:
    @pytest.mark.parametrize("url,model", [(POSITIONS, Position), (RELEASES, Release)])
    @pytest.mark.parametrize("order", ["newest", "oldest"])
    def test_pages_forward_and_back_cover_every_row_once(self, client, archive, url, model, order):
        params = {"o": order, "topic": archive.slug}
        forward, last = walk(client, url, params)
        rows = [pk for page in forward for pk in page]
        assert rows == expected(model, oldest=order == "oldest")
        assert [len(page) for page in forward[:-1]] == [20] * (len(forward) - 1)
        assert last.context["page_obj"].total == len(rows)
        # Back from the last page, page by page, to the first.
        start = {k: v[0] for k, v in parse_qs(last.request["QUERY_STRING"]).items()}
        backward, first = walk(client, url, start or params, direction="prev")
        assert backward == list(reversed(forward))
        assert 'rel="prev"' not in first.text

    def test_positions_of_a_release_stay_in_order_across_a_page_break(self, client, archive):
        pages, _ = walk(client, POSITIONS, {})
        assert [pk for page in pages for pk in page] == expected(Position)  # the landing page
        numbers = {p.pk: (p.release_id, p.number) for p in Position.objects.all()}
        seen = [numbers[pk] for page in pages for pk in page]
        for (release, number), (next_release, next_number) in itertools.pairwise(seen):
            if release == next_release:
                assert next_number > number

    def test_topic_and_source_pages_page_the_same_way(self, client, archive):
        pages, _ = walk(client, reverse("statements:topic-detail", args=[archive.slug]), {})
        assert [pk for page in pages for pk in page] == expected(Position)
        source = make_source()
        for i in range(23):
            dated(datetime.date(2000 + i, 1, 2), source=source)
        pages, _ = walk(client, source.get_absolute_url(), {})
        assert [len(page) for page in pages] == [20, 3]


def test_relevance_pages_are_bounded_and_say_so(client, monkeypatch):
    from statements import views

    monkeypatch.setattr(views, "RANKED_PAGES", 1)
    body = "منظمة معاهدة الأمن الجماعي"
    for _ in range(25):
        make_position(dated(datetime.date(2019, 3, 1), body=body), quote="منظمة")
    response = client.get(POSITIONS, {"q": "منظمة"})
    page = response.context["page_obj"]
    assert (len(page.object_list), page.total, page.paginator.count) == (20, 25, 20)
    assert 'rel="next"' not in response.text
    assert "رتّب حسب التاريخ لتصفّح النتائج كلها" in response.text
    assert client.get(POSITIONS, {"q": "منظمة", "page": "2"}).status_code == 404
    # Ordered by date, every result can be reached.
    pages, _ = walk(client, POSITIONS, {"q": "منظمة", "o": "newest"})
    assert sum(len(p) for p in pages) == 25


def test_a_topic_filter_reads_only_the_entries_that_can_match(client, pages_built, monkeypatch):
    """The position listing's topic (and place) filter says the other filters its entries
    carry copies of (stance, body, dates) in its own subquery, so that it reads only the
    entries that can match: the same positions as without, for each combination."""
    from statements.filters import PositionFilter

    # The filter's own subquery, read by every page a walk of the entries cannot read
    # (walks are tested below).
    monkeypatch.setattr(PositionFilter, "walk", lambda self: None)
    parent = make_topic()
    child = make_topic(parent=parent)
    place = make_topic(kind="place")
    stances = ["supports", "condemns", "affirms"]
    days = [
        (datetime.date(2009, 12, 31), DatePrecision.DAY),
        (datetime.date(2010, 1, 1), DatePrecision.YEAR),
        (datetime.date(2015, 6, 1), DatePrecision.MONTH),
        (datetime.date(2020, 12, 31), DatePrecision.DAY),
        (datetime.date(2021, 1, 1), DatePrecision.YEAR),
        (None, DatePrecision.UNKNOWN),
    ]
    for i, ((day, precision), body) in enumerate(itertools.product(days, ["sg", "cfm"])):
        release = dated(day, precision, issuing_body=body)
        for j, stance in enumerate(stances):
            topics = [[parent], [child], [child, place], []][(i + j) % 4]
            make_position(release=release, stance=stance, topics=topics)
    queries = [
        {"topic": parent.slug, "stance": "condemns"},
        {"topic": child.slug, "issuing_body": "sg", "date_from": "2010"},
        {"topic": parent.slug, "date_from": "2010", "date_to": "2020"},
        {"topic": parent.slug, "place": place.slug, "stance": "affirms", "date_to": "2015-06"},
        {"place": place.slug, "issuing_body": "cfm", "date_from": "2015-06-01"},
    ]

    def listed(params):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(POSITIONS, params)
        assert response.status_code == 200
        page = response.context["page_obj"]
        return {p.pk for p in page.object_list}, page.total, captured

    for params in queries:
        narrowed, total, captured = listed(params)
        read = [q["sql"] for q in captured if 'FROM "statements_topicentry"' in q["sql"]]
        carried = [k for k in ("stance", "issuing_body", "date_from", "date_to") if k in params]
        listing_query = [s for s in read if s.startswith('SELECT "statements_position"."id"')]
        assert listing_query, params
        for name in carried:
            column = {"date_from": "release_date", "date_to": "release_date"}.get(name, name)
            assert f'"U0"."{column}"' in listing_query[0], (name, listing_query[0])
        with monkeypatch.context() as m:
            m.setattr(PositionFilter, "carried_by_entries", None)
            m.setattr(PositionFilter, "walk", lambda self: None)
            plain, plain_total, _ = listed(params)
        assert narrowed == plain and total == plain_total, params
        assert narrowed, params  # each combination lists something


def walked(sql):
    """Whether a listing query read its page through a topic's entries, in order: one
    topic's in the page's query, each of several topics' (a broader one's) apart."""
    entries = re.search(r'FROM "statements_topicentry" "([A-Z]\d+)"', sql)
    one = entries is not None and f'ORDER BY "{entries.group(1)}".' in sql
    several = (
        sql.startswith('SELECT "statements_topicentry"."position_id" AS "position" FROM')
        and 'ORDER BY "statements_topicentry".' in sql
        and "LIMIT" in sql
    )
    return one or several


def forward_and_back(client, url, params):
    """Every page's ids from ``params`` on, then back from the last page, and the SQL run."""
    with statements() as run:
        forward, last = walk(client, url, params)
        start = {k: v[0] for k, v in parse_qs(last.request["QUERY_STRING"]).items()}
        backward, _ = walk(client, url, start or params, direction="prev")
    return forward, backward, run


@contextmanager
def statements():
    """The SQL run inside, over any number of requests (each request empties the log
    that CaptureQueriesContext reads)."""
    run = []

    def record(execute, sql, params, many, context):
        run.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield run


@pytest.fixture
def one_topic():
    """48 positions on one topic without narrower topics (and on a place), over releases
    with shared days, mixed precisions, two bodies and no date at all; two stances; one
    position of a draft and one on another topic only."""
    topic, place = make_topic(), make_topic(kind="place")
    days = [
        (datetime.date(2018, 11, 8), DatePrecision.DAY),
        (datetime.date(2018, 11, 8), DatePrecision.DAY),
        (datetime.date(2018, 1, 1), DatePrecision.YEAR),
        (None, DatePrecision.UNKNOWN),
        (datetime.date(2020, 5, 1), DatePrecision.MONTH),
        (None, DatePrecision.UNKNOWN),
    ]
    body = "منظمة معاهدة الأمن الجماعي " * 8
    for i in range(16):
        day, precision = days[i % len(days)]
        kwargs = {"body": body, "issuing_body": ["sg", "cfm"][i % 2]}
        release = dated(day, precision, **kwargs) if day else dated(**kwargs)
        for n in range(3):
            start = 27 * n
            make_position(
                release,
                quote="منظمة",
                start=start,
                end=start + 5,
                stance=["affirms", "condemns"][(i + n) % 2],
                topics=[topic, place] if n == 1 else [topic],
            )
    make_position(dated(status=Release.Status.DRAFT, body=body), quote="منظمة", topics=[topic])
    make_position(dated(body=body), quote="منظمة", topics=[make_topic()])
    return topic, place


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"stance": "affirms"},
        {"issuing_body": "sg", "date_from": "2018"},
        {"date_from": "2018-11", "date_to": "2020", "o": "newest"},
        {"stance": "condemns", "date_to": "2018-11"},
        {"place": "*"},
        {"source": "*"},
        {"source": "*", "stance": "affirms", "date_from": "2018"},
    ],
)
def test_a_page_of_one_topic_walks_its_entries(client, pages_built, one_topic, params, monkeypatch):
    """Newest first, positions on one topic without narrower ones, filtered by nothing but
    what its entries carry: each page walks the topic's entries in the listing's order
    and stops after it (statements.paging.Walk, migration 0020). The pages, forward and
    back, are those of reading every entry of the topic."""
    from statements.filters import PositionFilter

    topic, place = one_topic
    if params.get("place") == "*":
        params = {"place": place.slug}
    else:
        params = {"topic": topic.slug, **params}
    if params.get("source") == "*":
        # A source's own releases and those it relayed, each entry checked as walked
        # (when the results are too many for their keys to be read first).
        releases = list(Release.objects.published().order_by("pk"))
        source = releases[0].source
        for release in releases[2::3]:
            release.relayed_from.add(source)
        params["source"] = source.slug
        monkeypatch.setattr("statements.limits.KEYS_FIRST", 0)

    def pages():
        forward, backward, run = forward_and_back(client, POSITIONS, params)
        listed = 'SELECT "statements_position"."id"'
        return forward, backward, [sql for sql in run if sql.startswith(listed)]

    forward, backward, queries = pages()
    assert queries and all(walked(sql) for sql in queries), queries
    with monkeypatch.context() as m:
        m.setattr(PositionFilter, "walk", lambda self: None)
        plain_forward, plain_backward, plain_queries = pages()
    assert not any(walked(sql) for sql in plain_queries)
    assert forward == plain_forward and backward == plain_backward == list(reversed(forward))
    assert sum(map(len, forward)) == client.get(POSITIONS, params).context["page_obj"].total > 0
    if params.keys() == {"topic"}:
        assert len(forward) == 3, forward  # 48 positions: 20, 20, 8


def broaden(topic):
    """``topic`` made the narrower topic of a new one, beside another narrower topic with
    positions of its own and some of ``topic``'s: the new topic, and the other one."""
    broader = make_topic()
    topic.parent = broader
    topic.save()
    other = make_topic(parent=broader)
    for position in Position.objects.filter(topics=topic).order_by("pk")[::5]:
        position.topics.add(other)  # on two narrower topics: listed once
    body = "منظمة معاهدة الأمن الجماعي " * 8
    days = [
        (datetime.date(2018, 11, 8), DatePrecision.DAY),
        (datetime.date(2019, 2, 1), DatePrecision.MONTH),
        (None, DatePrecision.UNKNOWN),
        (datetime.date(2018, 1, 1), DatePrecision.YEAR),
    ]
    for i in range(12):
        day, precision = days[i % len(days)]
        kwargs = {"body": body, "issuing_body": ["sg", "cfm"][i % 2]}
        release = dated(day, precision, **kwargs) if day else dated(**kwargs)
        stance = ["affirms", "condemns", "affirms"][i % 3]
        make_position(release, quote="منظمة", start=0, end=5, stance=stance, topics=[other])
    assert listing.drift() == []
    return broader, other


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"stance": "affirms"},
        {"issuing_body": "sg", "date_from": "2018"},
        {"stance": "condemns", "date_to": "2018-11"},
    ],
)
def test_a_page_of_a_broader_topic_walks_the_entries_of_each_narrower_one(
    client, pages_built, one_topic, params, monkeypatch
):
    """A topic with narrower ones: each page walks the entries of each topic in the
    listing's order and stops after the page (statements.paging.Walk), a position on two
    of them listed once. The pages, forward and back, are those of reading every entry
    of the topics together."""
    from statements.filters import PositionFilter

    topic, _ = one_topic
    broader, _ = broaden(topic)
    params = {"topic": broader.slug, **params}
    monkeypatch.setattr("statements.limits.MAX_WALKED_TOPICS", 3)  # these three: walked
    # (when the results are too many for their keys to be read first: few_matches)
    monkeypatch.setattr("statements.limits.KEYS_FIRST", 0)

    def pages():
        forward, backward, run = forward_and_back(client, POSITIONS, params)
        return forward, backward, [sql for sql in run if walked(sql)]

    forward, backward, walks = pages()
    assert walks
    with monkeypatch.context() as m:
        m.setattr(PositionFilter, "walk", lambda self: None)
        plain_forward, plain_backward, plain_walks = pages()
    assert plain_walks == []
    assert forward == plain_forward and backward == plain_backward == list(reversed(forward))
    listed = [pk for page in forward for pk in page]
    total = client.get(POSITIONS, params).context["page_obj"].total
    assert len(listed) == len(set(listed)) == total > 0
    if params.keys() == {"topic"}:
        assert len(forward) == 3, forward  # 48 positions and 12: 20, 20, 20


@pytest.mark.parametrize(
    "params",
    [
        {"o": "oldest"},  # the index is newest first
        {"q": "منظمة"},  # a search is not carried by the entries
        {"source": "*"},  # few results with a source: their keys, read first
        {"topic": "parent"},  # more narrower topics than a walk takes
        {"topic": "few"},  # narrower topics, few results: their keys, read first
        {"place": "*"},  # with a topic too: two topics
    ],
)
def test_a_page_reads_every_entry_when_they_cannot_say_the_listing(
    client, pages_built, one_topic, params, monkeypatch
):
    topic, place = one_topic
    params = {"topic": topic.slug, **params}
    if params["topic"] in ("parent", "few"):
        if params["topic"] == "parent":
            monkeypatch.setattr("statements.limits.MAX_WALKED_TOPICS", 2)
        params["topic"] = broaden(topic)[0].slug
    if params.get("place") == "*":
        params["place"] = place.slug
    if params.get("source") == "*":
        params["source"] = Position.objects.filter(is_public=True)[0].release.source.slug
    with statements() as run:
        response = client.get(POSITIONS, params)
    assert response.status_code == 200 and response.context["page_obj"].object_list
    assert not [sql for sql in run if walked(sql)]


def test_a_topic_page_walks_its_entries_and_those_of_narrower_topics(
    client, pages_built, one_topic, monkeypatch
):
    from statements.views import TopicDetailView

    topic, _ = one_topic
    url = reverse("statements:topic-detail", args=[topic.slug])

    def pages():
        forward, backward, run = forward_and_back(client, url, {})
        return forward, backward, [sql for sql in run if walked(sql)]

    forward, backward, walks = pages()
    assert walks
    assert [pk for page in forward for pk in page] == expected(Position, topic=topic)
    assert backward == list(reversed(forward))
    with monkeypatch.context() as m:
        m.setattr(TopicDetailView, "walk", lambda self: None)
        assert pages() == (forward, backward, [])
    broader, other = broaden(topic)
    url = reverse("statements:topic-detail", args=[broader.slug])
    forward, backward, walks = pages()
    assert walks
    everything = {pk for t in (topic, other) for pk in expected(Position, topic=t)}
    assert [pk for page in forward for pk in page] == [
        pk for pk in expected(Position) if pk in everything
    ]
    assert backward == list(reversed(forward))
    with monkeypatch.context() as m:
        m.setattr("statements.limits.MAX_WALKED_TOPICS", 2)
        assert pages() == (forward, backward, [])


def test_entries_written_without_the_ordering_are_read_not_walked(client, pages_built, one_topic):
    """Entries that older code wrote while migration 0020 ran have no ordering: the
    listing reads every entry of the topic (the same positions) until an edit by current
    code fills them in."""
    topic, _ = one_topic
    everything = expected(Position, topic=topic)
    releases = list(Release.objects.published().order_by("pk").values_list("pk", flat=True))
    TopicEntry.objects.filter(release_id__in=releases[1:4]).update(number=None)
    TopicEntry.objects.filter(release_id__in=releases[5:7]).update(release_public_id=None)
    listing.changed()  # as the older code's edit did
    for url, params in (
        (POSITIONS, {"topic": topic.slug}),
        (reverse("statements:topic-detail", args=[topic.slug]), {}),
    ):
        with statements() as run:
            pages, _ = walk(client, url, params)
        assert [pk for page in pages for pk in page] == everything
        assert not [sql for sql in run if walked(sql)]
    make_position(dated(body="منظمة"), quote="منظمة", topics=[make_topic()])  # any edit
    assert not TopicEntry.objects.filter(number=None).exists()
    assert not TopicEntry.objects.filter(release_public_id=None).exists()
    assert listing.drift() == []
    with statements() as run:
        pages, _ = walk(client, POSITIONS, {"topic": topic.slug})
    assert [pk for page in pages for pk in page] == everything
    assert [sql for sql in run if walked(sql)]


def test_a_walk_of_a_topics_entries_reads_its_index():
    """What the walk asks of the entries is served by topicentry_newest_idx (migration
    0020), the filters checked in the index's entries."""
    from statements.filters import POSITION_NEWEST
    from statements.paging import order_by

    topic = make_topic()
    make_position(dated(datetime.date(2019, 3, 1)), topics=[topic])
    entries = TopicEntry.objects.filter(topic=topic.pk, is_public=True, stance="affirms")
    page = entries.order_by(*order_by(POSITION_NEWEST)).values("position")[:21]
    if connection.vendor == "postgresql":  # a tiny table: make the planner show its options
        with connection.cursor() as cursor:
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                cursor.execute(f"SET LOCAL {setting} = off")
    plan = page.explain()
    assert "topicentry_newest_idx" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
