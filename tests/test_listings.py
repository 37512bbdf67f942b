"""The public listings: FilterSets alone, dates at their precision, facets, chips, ordering,
every link a listing offers, query counts, both interface languages."""

import datetime
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from statements.filters import PartialDate, PositionFilter, ReleaseFilter
from statements.models import DatePrecision, Position, Release, Topic
from statements.search import FEW_MATCHES
from tests.factories import make_position, make_release, make_source, make_topic

pytestmark = pytest.mark.django_db

RELEASES = reverse("statements:release-list")
POSITIONS = reverse("statements:position-list")


def ids(filterset):
    assert filterset.is_valid(), filterset.errors
    return {obj.pk for obj in filterset.qs}


def release_filter(**data):
    return ReleaseFilter(QueryDict(mutable=True) | data, queryset=Release.objects.published())


def position_filter(**data):
    return PositionFilter(QueryDict(mutable=True) | data, queryset=Position.objects.published())


class TestPartialDates:
    @pytest.mark.parametrize(
        ("text", "first", "last"),
        [
            ("2018", (2018, 1, 1), (2018, 12, 31)),
            ("2020-02", (2020, 2, 1), (2020, 2, 29)),
            ("2018-11-08", (2018, 11, 8), (2018, 11, 8)),
            ("٢٠١٨-١١", (2018, 11, 1), (2018, 11, 30)),  # Arabic-Indic digits
            (" 2018-1 ", (2018, 1, 1), (2018, 1, 31)),
        ],
    )
    def test_periods(self, text, first, last):
        period = PartialDate(text)
        assert (period.first, period.last) == (datetime.date(*first), datetime.date(*last))

    @pytest.mark.parametrize("text", ["18", "2018-13", "2018-02-30", "0000", "2018/11", "x", "-1"])
    def test_invalid_dates_are_form_errors(self, text):
        for make in (release_filter, position_filter):
            filterset = make(date_from=text)
            assert not filterset.is_valid()
            assert "date_from" in filterset.errors

    def test_a_range_that_ends_before_it_starts_is_an_error(self):
        filterset = release_filter(date_from="2019", date_to="2018-06")
        assert not filterset.is_valid()
        assert "date_to" in filterset.errors


@pytest.fixture
def dated():
    """Releases known to a day, a month, a year, and not at all."""

    def make(on, precision):
        return make_release(published_on=on, published_precision=precision)

    return {
        "day": make(datetime.date(2018, 11, 8), DatePrecision.DAY),
        "month": make(datetime.date(2018, 11, 1), DatePrecision.MONTH),
        "year": make(datetime.date(2018, 1, 1), DatePrecision.YEAR),
        "unknown": make(None, DatePrecision.UNKNOWN),
        "other": make(datetime.date(2020, 3, 5), DatePrecision.DAY),
    }


class TestDateRange:
    """A record is in a range when the whole period its date is known to lies in it."""

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            ({"date_from": "2018", "date_to": "2018"}, {"day", "month", "year"}),
            ({"date_from": "2018-11", "date_to": "2018-11"}, {"day", "month"}),
            ({"date_from": "2018-11-08", "date_to": "2018-11-08"}, {"day"}),
            ({"date_from": "2018-01-01"}, {"day", "month", "year", "other"}),
            ({"date_from": "2018-06"}, {"day", "month", "other"}),
            ({"date_to": "2018-11-30"}, {"day", "month"}),
            ({"date_to": "2018-12-31"}, {"day", "month", "year"}),
            ({"date_to": "2018"}, {"day", "month", "year"}),
            ({"date_from": "2015", "date_to": "2025"}, {"day", "month", "year", "other"}),
            ({"date_from": "2019"}, {"other"}),
            ({}, {"day", "month", "year", "unknown", "other"}),
        ],
    )
    def test_releases_and_positions(self, dated, data, expected):
        assert ids(release_filter(**data)) == {dated[k].pk for k in expected}
        positions = {k: make_position(dated[k]) for k in dated}
        assert ids(position_filter(**data)) == {positions[k].pk for k in expected}

    def test_the_year_facet_and_its_link(self, client, dated):
        response = client.get(RELEASES)
        years = facet(response, "year")
        assert [(v.label, v.count) for v in years.values] == [("2020", 1), ("2018", 3)]
        following = client.get(RELEASES + link(response, years.values[1]))
        assert following.context["page_obj"].total == 3
        assert {c.value for c in following.context["chips"]} == {"2018"}


class TestFilterSets:
    def test_topic_includes_narrower_topics_and_place_is_places_only(self, demo):
        middle_east = ids(position_filter(place="middle-east"))
        syria = ids(position_filter(place="syria"))
        assert syria < middle_east
        assert ids(position_filter(topic="syria")) == syria  # old ?topic= links keep working
        assert not position_filter(place="counter-terrorism").is_valid()

    def test_release_stance_is_any_of_its_positions(self, demo):
        first, second = demo
        assert ids(release_filter(stance="rejects")) == {first.pk}
        assert ids(release_filter(stance="affirms")) == {first.pk, second.pk}

    def test_source_includes_relays(self, demo):
        first, _ = demo
        relay = first.relayed_from.get()
        assert ids(release_filter(source=relay.slug)) == {first.pk}

    @pytest.mark.parametrize(
        "limits",
        [
            {},
            {"KEYS_FIRST": 0},  # a topic's entries walked, each checked for the source
            {"KEYS_FIRST": 0, "MAX_RELAYED_KEYS": 0},  # the relays as a subquery
        ],
    )
    def test_a_relay_is_listed_under_its_source_as_soon_as_it_is_recorded(
        self, client, monkeypatch, limits
    ):
        """The releases a source relayed are read once per generation on PostgreSQL
        (ArchiveFilterSet.source_condition): a relay recorded, or taken back, is listed
        so at once, with its positions, under a topic too."""
        for name, value in limits.items():
            monkeypatch.setattr(f"statements.limits.{name}", value)
        agency, relay, topic = make_source(), make_source(), make_topic()
        relayed = make_release(source=agency)
        relayed_position = make_position(relayed, topics=[topic])
        own = make_release(source=relay)
        own_position = make_position(own, topics=[topic])

        def listed(url, **params):
            response = client.get(url, {"source": relay.slug, **params})
            assert response.status_code == 200
            return {obj.pk for obj in response.context["object_list"]}

        def everywhere():
            return (
                listed(RELEASES),
                listed(POSITIONS),
                listed(POSITIONS, topic=topic.slug),
                listed(POSITIONS, topic=topic.slug, stance=relayed_position.stance),
            )

        alone = {own_position.pk}
        assert everywhere() == ({own.pk}, alone, alone, alone)
        relayed.relayed_from.add(relay)
        both = {own_position.pk, relayed_position.pk}
        assert everywhere() == ({own.pk, relayed.pk}, both, both, both)
        relayed.relayed_from.remove(relay)
        assert everywhere() == ({own.pk}, alone, alone, alone)

    def test_filters_combine(self, demo):
        both = position_filter(place="syria", stance="supports", issuing_body="cfm")
        assert {Position.objects.get(pk=pk).stance for pk in ids(both)} <= {"supports"}
        assert ids(both) == ids(position_filter(place="syria")) & ids(
            position_filter(stance="supports")
        ) & ids(position_filter(issuing_body="cfm"))

    def test_ordering(self, dated):
        newest = [r.pk for r in release_filter(o="newest").qs]
        oldest = [r.pk for r in release_filter(o="oldest").qs]
        undated = dated["unknown"].pk
        assert newest[-1] == oldest[-1] == undated  # undated last either way
        assert newest[:-1] == list(reversed(oldest[:-1]))
        sideways = release_filter(o="sideways")  # a mistyped link: the default order
        assert sideways.is_valid() and [r.pk for r in sideways.qs] == newest

    def test_search_orders_by_relevance_unless_asked_by_date(self, demo):
        assert release_filter(q="سورية").ordering == "relevance"
        assert release_filter(q="سورية", o="oldest").ordering == "oldest"
        assert release_filter(o="relevance").ordering == "newest"  # nothing to be relevant to


def facet(response, name):
    return next(f for f in response.context["facets"] if f.name == name)


def link(response, value):
    """The href the page gives a facet value (or a chip), as the reader would follow it."""
    hrefs = re.findall(r'href="(\?[^"]*)"', response.text)
    wanted = {k: v for k, v in value.change.items() if v is not None}
    removed = {k for k, v in value.change.items() if v is None}
    for href in hrefs:
        params = parse_qs(urlsplit(unescape(href)).query)
        if all(params.get(k) == [v] for k, v in wanted.items()) and not removed & set(params):
            current = response.wsgi_request.GET
            if all(params.get(k) == current.getlist(k) for k in current if k not in value.change):
                return unescape(href)
    raise AssertionError(f"no link for {value}")


class TestFacets:
    @pytest.mark.parametrize("url", [RELEASES, POSITIONS])
    @pytest.mark.parametrize(
        "start",
        [
            {},
            {"place": "middle-east"},
            {"q": "الإرهاب"},
            {"stance": "affirms", "date_from": "2018"},
        ],
    )
    def test_every_facet_link_gives_the_count_it_shows(self, client, demo, url, start):
        response = client.get(url, start)
        assert response.status_code == 200
        followed = 0
        for each in response.context["facets"]:
            for value in each.values:
                target = client.get(url + link(response, value))
                assert target.status_code == 200
                if not value.selected:
                    assert target.context["page_obj"].total == value.count, (each.name, value)
                    followed += 1
        assert followed

    def test_a_broader_topic_counts_each_position_once(self, client):
        parent = make_topic(kind=Topic.Kind.PLACE)
        child = make_topic(kind=Topic.Kind.PLACE, parent=parent)
        make_position(topics=[parent, child])
        make_position(topics=[child])
        places = {v.value: v.count for v in facet(client.get(POSITIONS), "place").values}
        assert places == {parent.slug: 2, child.slug: 2}

    def test_sources_count_what_they_published_and_relayed(self, client):
        agency, relay = make_source(), make_source()
        make_release(source=agency).relayed_from.add(relay)
        make_release(source=relay)
        sources = {v.value: v.count for v in facet(client.get(RELEASES), "source").values}
        assert sources == {agency.slug: 1, relay.slug: 2}

    def test_a_selected_value_stays_listed_when_nothing_matches(self, client, demo):
        response = client.get(POSITIONS, {"stance": "rejects", "place": "palestine"})
        stances = {v.value: (v.count, v.selected) for v in facet(response, "stance").values}
        assert stances["rejects"] == (0, True)  # no Palestine position rejects anything
        assert stances["affirms"][0] > 0  # what choosing another stance would give

    def test_facets_are_not_computed_for_invalid_filters(self, client, demo):
        response = client.get(POSITIONS, {"stance": "nonsense"})
        assert response.status_code == 200
        assert response.context["facets"] == []


class TestChips:
    def test_one_chip_per_filter_each_removing_only_itself(self, client, demo):
        query = {"q": "سورية", "place": "syria", "stance": "affirms", "o": "oldest", "page": "1"}
        response = client.get(POSITIONS, query)
        chips = response.context["chips"]
        assert [c.label for c in chips] == ["بحث", "المكان", "الموقف"]
        assert [c.value for c in chips] == ["سورية", "سورية", "يؤكد"]
        for chip in chips:
            params = parse_qs(urlsplit(link(response, chip)).query)
            removed = set(chip.change) - {"page", "after", "before"}
            assert set(params) == set(query) - removed - {"page"}
        assert f'href="{POSITIONS}"' in response.text  # clear all

    def test_an_invalid_value_gets_a_chip_that_removes_it(self, client, demo):
        response = client.get(RELEASES, {"topic": "no-such-topic", "stance": "affirms"})
        invalid = [c for c in response.context["chips"] if c.invalid]
        assert [(c.value, c.change) for c in invalid] == [
            ("no-such-topic", {"topic": None, "page": None, "after": None, "before": None})
        ]
        assert client.get(RELEASES + link(response, invalid[0])).context["filter"].is_valid()


class TestPagesAndLanguages:
    def test_pagination_keeps_every_filter(self, client):
        topic = make_topic(kind=Topic.Kind.PLACE)
        for _ in range(25):
            make_position(topics=[topic])
        response = client.get(POSITIONS, {"place": topic.slug, "o": "oldest"})
        next_href = re.search(r'rel="next" href="([^"]+)"', response.text).group(1)
        params = parse_qs(urlsplit(unescape(next_href)).query)
        assert set(params) == {"place", "o", "after"}
        assert params["place"] == [topic.slug] and params["o"] == ["oldest"]
        assert len(client.get(POSITIONS + unescape(next_href)).context["object_list"]) == 5

    def test_english_interface(self, client, demo):
        client.cookies["django_language"] = "en"
        response = client.get(POSITIONS, {"place": "syria"})
        assert '<html lang="en" dir="ltr">' in response.text
        assert [(c.label, c.value, c.lang) for c in response.context["chips"]] == [
            ("Place", "Syria", "en")
        ]
        assert "Refine" in response.text and "Newest first" in response.text
        # The texts themselves stay Arabic, right to left.
        assert re.search(r'<blockquote lang="ar" dir="rtl"', response.text)

    @pytest.mark.parametrize("url", [RELEASES, POSITIONS])
    def test_query_count_is_fixed_whatever_the_results(self, client, url):
        topic, source = make_topic(), make_source()
        query = {"topic": topic.slug, "stance": "supports", "date_from": "2000", "q": "المنظمة"}

        def add(n):
            for _ in range(n):
                release = make_release(
                    source=source,
                    body=f"نص المنظمة رقم {Release.objects.count()}",
                    published_on=datetime.date(2019, 1, 1),
                    published_precision=DatePrecision.DAY,
                )
                release.relayed_from.add(make_source())
                make_position(release, quote="المنظمة", topics=[topic, make_topic()])

        def queries():
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url, query)
            assert response.context["page_obj"].total > 0
            last[:] = captured.captured_queries
            return len(captured)

        last = []

        add(FEW_MATCHES)  # enough for the search word not to be widened
        few = queries()
        add(25)
        assert queries() == few, "\n".join(q["sql"][:150] for q in last)


@pytest.mark.parametrize("url", [RELEASES, POSITIONS])
@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=0",
        "page=99999",
        "date_from=<script>&date_to=2018",
        "date_from=99999999999999999999",
        "date_from=2018-02-29",
        "stance=affirms&stance=rejects",
        "o=relevance&q=%22",
        "place=syria&topic=syria&source=&q=-",
        "topic=%00",
        "q=" + "%D8%B3" * 3000,
    ],
)
def test_hostile_filter_values_never_fail(client, demo, url, query):
    response = client.get(f"{url}?{query}")
    assert response.status_code in (200, 404)  # 404: a page number that does not exist
    if response.status_code == 200:
        assert "<html" in response.text


class TestReviewRegressions:
    def test_an_unknown_ordering_is_the_default_not_a_dead_end(self, client, demo):
        response = client.get(POSITIONS, {"o": "bogus", "stance": "affirms"})
        assert response.context["filter"].is_valid()
        assert response.context["object_list"]
        assert response.context["ordering"] == "newest"
        assert 'name="o"' not in response.text  # not carried on by the form

    def test_a_year_typed_in_arabic_digits_is_the_selected_year(self, client, dated):
        response = client.get(RELEASES, {"date_from": "٢٠١٨", "date_to": "٢٠١٨"})
        selected = [v.label for v in facet(response, "year").values if v.selected]
        assert selected == ["2018"]

    def test_a_place_chosen_through_topic_shows_as_selected(self, client, demo):
        response = client.get(POSITIONS, {"topic": "syria"})
        assert [v.value for v in facet(response, "topic").selected] == ["syria"]

    def test_help_and_errors_are_announced_with_their_fields(self, client, demo):
        response = client.get(POSITIONS, {"date_from": "soon"})
        described = re.search(r'<input[^>]*name="date_from"[^>]*>', response.text).group(0)
        ids = re.search(r'aria-describedby="([^"]+)"', described).group(1).split()
        for element_id in ids:
            assert f'id="{element_id}"' in response.text, element_id
        assert any(i.endswith("_error") for i in ids)


@pytest.mark.parametrize(
    "params", ["", "topic=syria&stance=affirms", "topic=nope&issuing_body=x&o=oldest"]
)
def test_the_filter_forms_selects_are_djangos_markup(params):
    """QuickSelect writes in Python what Django's Select renders with templates."""
    from django import forms
    from django.http import QueryDict

    from statements.filters import PositionFilter, QuickSelect, ReleaseFilter

    for filterset in (ReleaseFilter, PositionFilter):
        form = filterset(QueryDict(params), queryset=filterset._meta.model.objects.all()).form
        form.is_valid()
        quick = [name for name, field in form.fields.items() if type(field.widget) is QuickSelect]
        assert {"topic", "place", "stance", "issuing_body", "source", "o"} <= set(quick)
        for name in quick:
            widget = form.fields[name].widget
            plain = forms.Select(attrs=widget.attrs)
            plain.choices, plain.is_required = widget.choices, widget.is_required
            assert form[name].as_widget() == form[name].as_widget(widget=plain)


def test_quick_select_writes_groups_and_escapes_as_django_does():
    from django import forms

    from statements.filters import QuickSelect

    choices = [("", "—"), ("Group <1>", [("a&b", 'say "x"'), ("c", "ج")]), ("d", "د")]
    attrs = {"aria-describedby": "help", "required": True, "disabled": False}
    for value in ("a&b", "d", None):
        quick = QuickSelect(attrs=attrs, choices=choices).render("f", value)
        assert quick == forms.Select(attrs=attrs, choices=choices).render("f", value)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "topic=syria&stance=affirms&page=3",
        "q=سورية+%22تسوية+سياسية%22&after=abc&o=oldest",
        "topic=a&topic=b&x=1&x=2&source=",  # repeated and empty parameters
    ],
)
def test_facet_links_are_what_the_querystring_tag_writes(query):
    from django.http import QueryDict
    from django.template import Context, Template

    from statements.facets import PAGING, Facet, with_links

    facet = Facet("topic", "Topic")
    facet.add("syria", "سورية", 3, selected=True)
    facet.add("iraq", "العراق", 2, selected=False)
    other = Facet("year", "Year")
    other.add(2019, "2019", 1, selected=False)
    listed = [facet, other, Facet("source", "Source")]
    other.values.append(
        type(other.values[0])("z", "z", 1, False, "", {"new": "v", "x": None, **PAGING})
    )
    params = QueryDict(query)
    tag = Template("{% querystring query change %}")
    for value in [v for f in with_links(listed, params) for v in f.values]:
        expected = tag.render(Context({"query": params, "change": value.change}))
        assert value.href == expected.replace("&amp;", "&"), value.change


@pytest.mark.parametrize("language", ["ar", "en"])
def test_a_facet_value_is_the_markup_its_template_wrote(language):
    """The list item statements.facets writes is what templates/includes/facet_value.html
    (replaced by it) wrote: escaped label, language, count, selection and its note."""
    from django.http import QueryDict
    from django.template import Context, Template
    from django.utils import translation

    from statements.facets import Facet, with_links

    facet = Facet("source", "Source")
    facet.add("a&b", 'Outlet <"x">', 1234, selected=True, lang="en")
    facet.add("sana", "سانا", 7, selected=False)
    template = Template(
        '{% load i18n %}<li><a href="{% querystring request.GET value.change %}"'
        '{% if value.selected %} aria-current="true"{% endif %}><bdi{% if value.lang %} '
        'lang="{{ value.lang }}"{% endif %}>{{ value.label }}</bdi> <span class="count">'
        '{{ value.count }}</span>{% if value.selected %}<span class="visually-hidden"> '
        '{% translate "(selected; follow to remove)" %}</span>{% endif %}</a></li>'
    )
    request = type("Request", (), {"GET": QueryDict("q=x&source=old")})()
    with translation.override(language):
        for value in with_links([facet], request.GET)[0].values:
            wrote = template.render(Context({"value": value, "request": request}))
            assert value.html == wrote


class TestCodebookReadOnce:
    """A listing page reads the topics and the sources once, for its form's choices, the
    check of each value given, its facets and the topic tree: not a query (nor a
    server-side cursor) for each select, each value and each facet."""

    @pytest.mark.parametrize("url", [RELEASES, POSITIONS])
    def test_one_read_of_each(self, client, url):
        syria = make_topic(slug="syria-x", kind=Topic.Kind.PLACE)
        theme = make_topic()
        make_topic(parent=theme)
        source = make_source()
        make_position(make_release(source=source), topics=[theme, syria])
        query = {"topic": theme.slug, "place": syria.slug, "source": source.slug}
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, query)
        assert response.status_code == 200
        assert not response.context["filter"].errors
        assert response.context["page_obj"].total == 1
        sqls = [q["sql"] for q in captured.captured_queries]
        assert not [s for s in sqls if s.startswith("DECLARE")]
        # (The page's rows prefetch their own topics and relays, through a join.)
        own = [s for s in sqls if " JOIN " not in s]
        from_topics = [s for s in own if 'FROM "statements_topic"' in s]
        from_sources = [s for s in own if 'FROM "statements_source"' in s]
        assert len(from_topics) == 1, from_topics
        assert len(from_sources) == 1, from_sources

    def test_choices_and_checks_are_the_querysets(self):
        from django_filters.fields import ModelChoiceField

        place = make_topic(kind=Topic.Kind.PLACE, name_ar="ألف")
        theme = make_topic(name_ar="باء")
        make_source()
        for filterset in (ReleaseFilter, PositionFilter):
            form = filterset(QueryDict(), queryset=filterset._meta.model.objects.all()).form
            for name in ("topic", "place", "source"):
                field = form.fields[name]
                plain = ModelChoiceField(
                    queryset=field.queryset,
                    to_field_name="slug",
                    empty_label=field.empty_label,
                )
                plain.label_from_instance = field.label_from_instance
                assert [(str(v), str(label)) for v, label in field.choices] == [
                    (str(v), str(label)) for v, label in plain.choices
                ]
                assert len(field.choices) == len(plain.choices) > 1
            checked = filterset(
                QueryDict(f"place={theme.slug}&topic={place.slug}"),
                queryset=filterset._meta.model.objects.all(),
            )
            assert not checked.is_valid()
            assert set(checked.errors) == {"place"}  # a theme is not a place
            assert checked.form.cleaned_data["topic"] == place
