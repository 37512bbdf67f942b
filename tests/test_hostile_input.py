"""Hostile input: every public URL, whatever its query string or path, answers below 500.

A property-based test (hypothesis) sends random and hostile query strings to
every public URL pattern, and random path segments where a path takes an id or
a slug; example-based tests pin each bound of statements.limits and what the
reader is told.
"""

import os
import re
from urllib.parse import quote, quote_from_bytes

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statements import limits
from statements.models import Release, Source, Topic
from tests.factories import close_response

RELEASES, POSITIONS = "/releases/", "/positions/"
FILTERS = ["q", "topic", "place", "stance", "issuing_body", "source", "date_from", "date_to"]
PARAMS = [*FILTERS, "o", "page", "after", "before", "p", "v", "merged", "next", "language"]

# Characters a hostile reader (or a broken client) sends: NUL and other controls,
# bidi overrides and isolates, zero-width joiners, a lone surrogate (sent as its
# UTF-8-ish escape %ED%A0%80), Arabic letters and marks, Arabic-Indic digits.
HOSTILE_CHARS = (
    "\x00\x01\x1b\x7f\t\n\r \"'<>&%+#?/\\.-_=;,"
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    "\ufeff\ufffd\ud800\udfff"
    "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإؤئةى\u064b\u0651\u0640"
    "٠١٢٣٤٥٦٧٨٩۰۱۲"
    "aZ09-OR"
)
SPECIAL_VALUES = [
    "",
    "\x00",
    "a\x00b",
    "\u202esyria",
    "-1",
    "0",
    str(10**30),
    str(-(10**30)),
    "1e309",
    "NaN",
    "٣",
    "١٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠٠",
    "2018-13-40",
    "9999-12-31",
    "0000",
    "-.-.-",
    "2018-11-08.4611686018427387904.1",
    "-.99999999999999999999.1",
    '"',
    '-"',
    "OR",
    "OR OR -",
    '"أمن" -روسيا OR سورية',
    "x" * 5000,
    "أمن " * 300,
]

hostile_text = st.one_of(
    st.text(alphabet=HOSTILE_CHARS, max_size=40),
    st.text(max_size=20),  # any code point, surrogates included
    st.sampled_from(SPECIAL_VALUES),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.text(alphabet=HOSTILE_CHARS, min_size=300, max_size=3000),
)


def encode(text):
    """Percent-encode any str, lone surrogates included (as a browser never would)."""
    return quote_from_bytes(text.encode("utf-8", "surrogatepass"), safe="")


encoded_value = st.one_of(
    hostile_text.map(encode),
    st.binary(max_size=12).map(lambda b: quote_from_bytes(b, safe="")),  # invalid UTF-8
    st.sampled_from(["%", "%0", "%zz", "%ED%A0%80", "%C0%80", "%FF%FE", "%00", "%E2%80%AE"]),
)
param_name = st.one_of(st.sampled_from(PARAMS), st.text(alphabet=HOSTILE_CHARS, max_size=8))
query_string = st.lists(st.tuples(param_name.map(encode), encoded_value), max_size=8).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
)


pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def archive(django_db_setup, django_db_blocker):
    """The demo archive, loaded once for the module (loading it takes seconds) in a
    transaction rolled back at the end; each test runs in a savepoint inside it."""
    from statements.demo import load_demo

    with django_db_blocker.unblock(), transaction.atomic():
        load_demo()
        release = Release.objects.filter(status=Release.Status.PUBLISHED).order_by("public_id")[0]
        yield {
            "id": release.public_id,
            "topic": Topic.objects.order_by("slug")[0].slug,
            "source": Source.objects.order_by("slug")[0].slug,
        }
        transaction.set_rollback(True)


def public_paths(archive):
    """Every public URL pattern of statements/urls.py and csto_site/urls.py."""
    rid, topic, source = archive["id"], archive["topic"], archive["source"]
    return [
        "/",
        RELEASES,
        POSITIONS,
        "/releases/export.csv",
        "/releases/export.json",
        "/positions/export.csv",
        "/positions/export.json",
        "/releases/feed/",
        "/positions/feed/",
        f"/r/{rid}/",
        f"/r/{rid}/v/1/",
        f"/r/{rid}/changes/",
        f"/r/{rid}/cite.bib",
        f"/r/{rid}/cite.ris",
        f"/r/{rid}/cite.json",
        f"/r/{rid}/p/1/",
        f"/r/{rid}/any-slug/",
        "/topics/",
        f"/topics/{topic}/",
        f"/sources/{source}/",
        "/healthz/",
        "/sitemap.xml",
        "/sitemap-releases.xml",
        "/robots.txt",
        "/i18n/setlang/",
        "/language/en/",
        "/language/ar/",
    ]


# Paths that take an id or a slug, with a random segment in its place.
PATH_TEMPLATES = [
    "/r/{}/",
    "/r/{}/changes/",
    "/r/{}/cite.bib",
    "/r/{}/p/1/",
    "/r/{id}/v/{}/",
    "/r/{id}/p/{}/",
    "/r/{id}/{}/",
    "/topics/{}/",
    "/sources/{}/",
    "/sitemap-{}.xml",
    "/language/{}/",
    "/{}",
]
path_segment = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(alphabet="0123456789", min_size=1, max_size=40),
    hostile_text.map(lambda t: encode(t)[:2000]),
    st.sampled_from(["%ff", "%ED%A0%80", "%00", "..", "%2e%2e", "%2F", "-", "_"]),
)


def client():
    # A response below 500 is the property; an exception a view lets out fails the test too.
    return Client(raise_request_exception=True)


def get(c, url):
    response = c.get(url)
    if response.streaming:
        # Closed as a WSGI server closes it, read or not: an export gives back its slot.
        close_response(response)
    assert response.status_code < 500, (url, response.status_code)
    return response


# Property-based ---------------------------------------------------------------

# HOSTILE_EXAMPLES=5000 ./dev test tests/test_hostile_input.py runs a longer hunt.
PROPERTY = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "200")),
    deadline=None,
    database=None,  # no .hypothesis/ directory in the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_no_query_string_gives_a_server_error(archive):
    paths = public_paths(archive)
    c = client()

    @PROPERTY
    @given(path=st.sampled_from(paths), query=query_string)
    def check(path, query):
        get(c, f"{path}?{query}")

    check()


def test_no_path_segment_gives_a_server_error(archive):
    c = client()

    @PROPERTY
    @given(template=st.sampled_from(PATH_TEMPLATES), segment=path_segment, query=query_string)
    def check(template, segment, query):
        path = template.format(segment, id=archive["id"])
        get(c, f"{path}?{query}")

    check()


def test_every_public_url_with_every_parameter_and_a_hostile_value(archive):
    """Not random: each public URL with every known parameter set to each hostile value,
    then with one parameter at a time set to NUL (a bad value can hide another)."""
    c = client()
    for path in public_paths(archive):
        for value in ("a%00b", "%E2%80%AEx", "%ED%A0%80", "%FF", "-1", str(10**30), "x" * 600):
            get(c, f"{path}?" + "&".join(f"{param}={value}" for param in PARAMS))
        for param in PARAMS:
            get(c, f"{path}?{param}=%00")


# Example-based: each bound and what the reader is told ------------------------


@pytest.fixture
def en_client(client):
    """A reader who chose English (the site's default is Arabic), to match on message text."""
    client.cookies["django_language"] = "en"
    return client


def chip_errors(response):
    return set(response.context["filter"].errors)


class TestSearchBounds:
    def test_a_10000_character_search_uses_its_beginning_and_says_so(self, en_client, archive):
        long = "أمن " * 2500
        response = en_client.get(RELEASES, {"q": long})
        assert response.status_code == 200
        result = response.context["filter"].search_result
        assert result.query.truncated
        assert sum(1 for _ in result.query.terms()) <= limits.MAX_QUERY_TERMS
        assert "Your search was long; only its beginning was used." in response.text

    def test_a_long_search_is_cut_at_the_bound(self):
        from statements.analysis import parse_query

        text = '"' + "ا" * (limits.MAX_QUERY_LENGTH - 2) + '"'
        assert not parse_query(text).truncated
        assert parse_query(text + "x").truncated

    def test_more_terms_than_the_bound_are_dropped_and_said_so(self, en_client, archive):
        words = " ".join(f"كلمة{i}" for i in range(limits.MAX_QUERY_TERMS + 8))
        response = en_client.get(POSITIONS, {"q": words})
        assert response.status_code == 200
        query = response.context["filter"].search_result.query
        assert query.truncated
        assert sum(1 for _ in query.terms()) == limits.MAX_QUERY_TERMS
        assert "Your search was long; only its beginning was used." in response.text

    def test_a_very_long_word_is_not_widened_with_the_vocabulary(self, client, archive):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(RELEASES, {"q": "ب" * (limits.MAX_WIDENED_WORD_LENGTH + 1)})
        assert response.status_code == 200
        assert not [q for q in queries if "statements_searchterm" in q["sql"]]
        # A word of real length still is.
        with CaptureQueriesContext(connection) as queries:
            client.get(RELEASES, {"q": "ب" * limits.MAX_WIDENED_WORD_LENGTH})
        assert [q for q in queries if "statements_searchterm" in q["sql"]]

    def test_a_long_search_on_a_release_page_and_in_an_export(self, client, archive):
        release = Release.objects.filter(status=Release.Status.PUBLISHED)[0]
        long = "أمن " * 2500
        assert client.get(release.get_absolute_url(), {"q": long}).status_code == 200
        assert client.get("/releases/export.csv", {"q": long}).status_code == 200


class TestPageBounds:
    QUERY = {"q": "الأمن"}

    def test_the_search_is_ranked(self, client, archive):
        response = client.get(POSITIONS, self.QUERY)
        assert response.context["ordering"] == "relevance"
        assert response.context["page_obj"].keyset is False

    @pytest.mark.parametrize("page", [str(10**30), str(limits.RANKED_PAGES + 1), "10" * 3000])
    def test_a_ranked_page_beyond_the_bound_is_a_404_that_says_why(self, en_client, archive, page):
        with CaptureQueriesContext(connection) as queries:
            response = en_client.get(POSITIONS, {**self.QUERY, "page": page})
        assert response.status_code == 404
        if len(page) < 4000:
            assert "at most 50 pages; order them by date" in response.context["exception"]
            assert "at most 50 pages; order them by date" in response.text  # shown, too
        # No OFFSET beyond the bound was ever asked of the database.
        offsets = [int(n) for q in queries for n in re.findall(r"OFFSET (\d+)", q["sql"])]
        assert all(n < limits.PAGE_SIZE * limits.RANKED_PAGES for n in offsets)

    @pytest.mark.parametrize("page", ["0", "-1", "1.5", "abc", "a\x00b", "2"])
    def test_a_page_that_does_not_exist_is_a_404(self, en_client, archive, page):
        response = en_client.get(POSITIONS, {**self.QUERY, "page": page})
        assert response.status_code == 404
        assert response.context["exception"] == "This page of results does not exist."

    @pytest.mark.parametrize(
        "cursor",
        [
            "garbage",
            "a\x00b",
            "\u202e2018-01-01.1.1",
            "2018-01-01",
            "2018-13-01.1.1",
            "2018-01-01.-1.1",
            "2018-01-01.+1.1",
            "2018-01-01.١.1",
            "2018-01-01.1_0.1",
            "2018-01-01.99999999999999999999.1",
            "-.-.-",
            "1." * 60,
            "x" * 10_000,
        ],
    )
    @pytest.mark.parametrize("param", ["after", "before"])
    def test_a_garbage_cursor_is_a_404(self, en_client, archive, param, cursor):
        for url in (POSITIONS, RELEASES + "?o=oldest"):
            response = en_client.get(url, {param: cursor})
            assert response.status_code == 404, (url, cursor)
            assert response.context["exception"] == "This page of results does not exist."

    def test_a_cursor_longer_than_the_bound_is_refused_before_it_is_parsed(self):
        from statements.filters import POSITION_NEWEST
        from statements.paging import decode

        valid = "2018-11-08.4611686018427387904.4294967295"
        assert decode(POSITION_NEWEST, valid)[1] == 2**62
        with pytest.raises(ValueError):
            decode(POSITION_NEWEST, valid + "0" * limits.MAX_CURSOR_LENGTH)


class TestFilterBounds:
    def test_a_parameter_repeated_1000_times_is_one_condition(self, client, archive):
        topic = Topic.objects.order_by("slug")[0].slug
        from django.core.cache import cache

        with CaptureQueriesContext(connection) as once:
            single = client.get(RELEASES, {"topic": topic})
        cache.clear()
        with CaptureQueriesContext(connection) as repeated:
            response = client.get(RELEASES, {"topic": ["nothing"] * 999 + [topic]})
        assert response.status_code == 200
        assert response.context["filter"].form.cleaned_data["topic"].slug == topic
        assert [c.value for c in response.context["chips"]] == [
            c.value for c in single.context["chips"]
        ]
        assert len(repeated) == len(once)
        assert max(len(q["sql"]) for q in repeated) < 10_000

    def test_more_parameters_than_django_reads_is_a_400(self, client, archive):
        response = client.get(RELEASES, {"topic": ["x"] * 1001})
        assert response.status_code == 400

    @pytest.mark.parametrize("param", ["topic", "place", "source"])
    def test_a_slug_longer_than_any_is_invalid_without_a_query(self, client, archive, param):
        value = "s" * (limits.MAX_SLUG_LENGTH + 1)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(RELEASES, {param: value})
        assert response.status_code == 200
        assert chip_errors(response) == {param}
        assert [c.invalid for c in response.context["chips"]] == [True]
        assert not [q for q in queries if value in str(q["sql"])]

    @pytest.mark.parametrize(
        "value", ["99999", "0", "0000-01", "9999", "9999-12-31", "2018-11-08-1", "٢٠١٨-١١-٠٨٠"]
    )
    def test_dates_out_of_range_are_invalid(self, client, archive, value):
        for param in ("date_from", "date_to"):
            response = client.get(POSITIONS, {param: value})
            assert response.status_code == 200
            assert chip_errors(response) == {param}

    def test_the_last_years_a_date_takes(self, client, archive):
        for value in ("0001", "9998", "9998-12-31", "٩٩٩٨"):
            response = client.get(POSITIONS, {"date_from": value, "date_to": value})
            assert response.status_code == 200
            assert response.context["filter"].is_valid(), value


class TestNulAndBidi:
    """PostgreSQL refuses NUL in text: each parameter with one is an invalid value or a 404."""

    @pytest.mark.parametrize("param", FILTERS)
    @pytest.mark.parametrize("listing", [RELEASES, POSITIONS])
    def test_nul_in_a_filter_is_an_invalid_value_chip(self, en_client, archive, listing, param):
        response = en_client.get(listing, {param: "syria\x00"})
        assert response.status_code == 200
        assert chip_errors(response) == {param}
        assert [c.invalid for c in response.context["chips"]] == [True]
        assert "Some filter values are not valid" in response.text

    @pytest.mark.parametrize("param", FILTERS)
    @pytest.mark.parametrize(
        "url",
        [
            "/releases/export.csv",
            "/positions/export.json",
            "/releases/feed/",
            "/positions/feed/",
        ],
    )
    def test_nul_in_an_export_or_feed_filter_is_a_400(self, en_client, archive, url, param):
        response = en_client.get(url, {param: "a\x00b"})
        assert response.status_code == 400
        assert response.content.decode().startswith("Some filter values are not valid:")

    @pytest.mark.parametrize(
        ("param", "listed", "ranked"), [("page", 200, 404), ("after", 404, 200), ("o", 200, 200)]
    )
    def test_nul_in_paging_or_ordering(self, client, archive, param, listed, ranked):
        # An unknown ordering is the default one; a page number or a cursor that is not
        # one is a 404 where it is read (numbers ranked by relevance, cursors by date).
        assert client.get(RELEASES, {param: "\x00"}).status_code == listed
        assert client.get(RELEASES, {"q": "الأمن", param: "\x00"}).status_code == ranked

    def test_nul_on_a_release_page_and_its_citations(self, client, archive):
        rid = archive["id"]
        assert client.get(f"/r/{rid}/", {"q": "أمن\x00", "merged": "\x00"}).status_code == 200
        for param in ("p", "v"):
            assert client.get(f"/r/{rid}/cite.bib", {param: "\x00"}).status_code == 404
        assert client.get(f"/topics/{archive['topic']}/", {"after": "\x00"}).status_code == 404

    def test_nul_in_a_path_is_a_404(self, client, archive):
        for path in ("/topics/a%00b/", "/sources/a%00b/", f"/r/{archive['id']}/a%00b/"):
            assert client.get(path).status_code == 404

    def test_bidi_controls_in_a_search_are_ignored(self, client, archive):
        plain = client.get(POSITIONS, {"q": "الأمن"})
        bidi = client.get(POSITIONS, {"q": "\u202eالأمن\u2066"})
        assert bidi.status_code == 200
        assert bidi.context["page_obj"].total == plain.context["page_obj"].total > 0

    def test_a_bidi_control_in_a_slug_is_an_invalid_value(self, client, archive):
        response = client.get(POSITIONS, {"topic": "\u202e" + archive["topic"]})
        assert response.status_code == 200
        assert chip_errors(response) == {"topic"}

    @pytest.mark.parametrize("raw", ["q=%ED%A0%80", "q=%FF%FE%00", "topic=%C0%80", "q=%"])
    def test_invalid_utf8_escapes(self, client, archive, raw):
        assert client.get(f"{RELEASES}?{raw}").status_code == 200


def test_encode_keeps_lone_surrogates():
    assert encode("\ud800") == "%ED%A0%80"
    assert quote("أ") == "%D8%A3"
