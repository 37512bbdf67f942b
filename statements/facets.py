"""Facet counts for a filtered listing: how many results each filter value would give.

A value's count is the number of results the listing would show if the reader
followed its link: the current filters, with that facet's own filter set to the
value (a facet's own filter is left out of its counts, since choosing another
value replaces it). Counts come from a fixed number of grouped queries (one or
two per facet, plus one filtered set per facet in use), whatever the page size
or the number of values: never one query per value.

A topic's count includes its narrower topics, as its filter does: a position
on كازاخستان counts for آسيا الوسطى too, once.

The counts come from the count tables (statements.counts) whenever the filters
are among their dimensions (no search, whole-year date ranges), and otherwise
from the listing copies (statements.listing); either way they are cached for the
current generation: a listing seen before since the last publication costs no
count query at all.
"""

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count, F, Q
from django.db.models.functions import ExtractYear
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import counts as count_tables
from . import limits, listing
from .models import (
    DatePrecision,
    IssuingBody,
    Position,
    Release,
    Source,
    Stance,
    Topic,
    TopicEntry,
    descendants,
)

RelayLink = Release.relayed_from.through

# The query-string parameters each facet sets.
PARAMS = {
    "topic": ("topic",),
    "place": ("place",),
    "stance": ("stance",),
    "issuing_body": ("issuing_body",),
    "source": ("source",),
    "year": ("date_from", "date_to"),
}


# A change of filters starts again from the first page.
PAGING = {"page": None, "after": None, "before": None}


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    lang: str
    change: dict  # the query-string change that applies (or, if selected, removes) it
    href: str = ""  # the listing's query string with ``change`` made (see with_links)
    html: str = ""  # its list item (see with_links)


@dataclass
class Facet:
    name: str
    label: str
    values: list = field(default_factory=list)
    # Its counts would have been counted from too many records (limits.LIVE_COUNTS):
    # not shown, and the page says why.
    uncounted: bool = False

    SHOWN = 8  # values shown before "More"

    @property
    def selected(self):
        return [v for v in self.values if v.selected]

    @property
    def head(self):
        """The selected value (wherever it ranks) and the commonest ones."""
        first = self.selected + [v for v in self.values if not v.selected]
        return first[: max(self.SHOWN, len(self.selected))]

    @property
    def rest(self):
        # By identity: a dataclass compares every field (a listing's hundred-odd values
        # against its heads cost a thousand comparisons).
        head = {id(v) for v in self.head}
        return [v for v in self.values if id(v) not in head]

    def add(self, value, label, count, selected, lang=""):
        change = {param: None if selected else str(value) for param in PARAMS[self.name]}
        change.update(PAGING)
        self.values.append(FacetValue(str(value), label, count, selected, lang, change))


def with_links(facets, query):
    """Give each facet value its list item and its link: ``query`` (the listing's
    QueryDict) with the value's change made, as ``{% querystring query value.change %}``
    writes it (keys in their order, a changed key in its place, a new one last, None
    removing it), without copying the QueryDict for each of a listing's hundred-odd
    values: the parameters left as they are are encoded once."""
    items = [(key, [_pair(key, v) for v in values]) for key, values in query.lists()]
    known = {key for key, _values in items}
    note = format_html(
        '<span class="visually-hidden"> {}</span>', gettext("(selected; follow to remove)")
    )
    for facet in facets:
        for value in facet.values:
            change, pairs = value.change, []
            for key, encoded in items:
                if key in change:
                    if change[key] is not None:
                        pairs.append(_pair(key, change[key]))
                else:
                    pairs += encoded
            pairs += [_pair(k, v) for k, v in change.items() if k not in known and v is not None]
            value.href = "?" + "&".join(pairs)
            value.html = _value_html(value, note)
    return facets


def _pair(key, value):
    """``key=value`` as urlencode writes it."""
    return urlencode([(key, str(value))])


def _value_html(value, note):
    """A facet value's list item, written here rather than by a template included for
    each of a listing's hundred-odd values (a tenth of a listing page's time): the
    markup format_html would give, escaped the same way."""
    current = ' aria-current="true"' if value.selected else ""
    lang = f' lang="{escape(value.lang)}"' if value.lang else ""
    return mark_safe(  # noqa: S308 - every value in it is escaped
        f'<li><a href="{escape(value.href)}"{current}><bdi{lang}>'
        f"{conditional_escape(value.label)}</bdi> "
        f'<span class="count">{escape(localize(value.count))}</span>'
        f"{note if value.selected else ''}</a></li>"
    )


# The two facets that list codebook entries, and the kinds each lists.
TOPIC_FACETS = (
    ("topic", _("Topic"), {Topic.Kind.THEME, Topic.Kind.ACTOR}),
    ("place", _("Place"), {Topic.Kind.PLACE}),
)


def cache_parts(filterset, what):
    """What a cached count of ``filterset``'s listing is keyed by: the listing and its
    filters as given (a valid filter set)."""
    data = filterset.data if filterset.is_bound else {}
    params = {name: str(data.get(name)).strip() for name in filterset.filters if name != "o"}
    return [what, filterset.queryset.model._meta.label, {k: v for k, v in params.items() if v}]


# Counts come from the count tables (statements.counts) whenever they can say;
# the tests turn this off to compare them with counting the records.
USE_COUNT_TABLES = True


def table_filters(data, without=()):
    """The listing's filters (cleaned ``data``, less the parameters ``without``) as the
    count tables' dimensions, or None when the tables cannot answer: a search or a date
    range not in whole years. A topic and a place are a pair of topics."""
    if not USE_COUNT_TABLES or data.get("q"):
        return None
    given = {name: value for name, value in data.items() if value and name not in without}
    dims = {}
    chosen = {given[name].pk for name in ("topic", "place") if name in given}
    for name, pk in zip(("topic", "pair"), sorted(chosen), strict=False):
        dims[name] = pk
    if "stance" in given:
        dims["stance"] = given["stance"]
    if "issuing_body" in given:
        dims["body"] = given["issuing_body"]
    if "source" in given:
        dims["source"] = given["source"].pk
    if "date_from" in given:
        first = given["date_from"].first
        if (first.month, first.day) != (1, 1):
            return None
        dims["year_from"] = first.year
    if "date_to" in given:
        last = given["date_to"].last
        if (last.month, last.day) != (12, 31):
            return None
        dims["year_to"] = last.year
    return dims


def _from_tables(model, data, name, group, asked=None, values=None):
    """A facet's (or with ``group`` None, the total's) counts from the count tables, or
    None when they cannot say. ``asked``, a dictionary, keeps the answers of one page's
    lookups, so that the same one is not read twice; ``values``, by topic, the topics
    counted (the same for every lookup of a page)."""
    dims = table_filters(data, PARAMS.get(name, ()))
    if dims is None:
        return None
    listing = "r" if model is Release else "p"
    if asked is None:
        return count_tables.lookup(listing, dims, group, values)
    key = (listing, tuple(sorted(dims.items())), group)
    if key not in asked:
        asked[key] = count_tables.lookup(listing, dims, group, values)
    return asked[key]


def total(filterset, current=None):
    """The number of results of a valid, filtered ``filterset``, cached."""
    data = filterset.form.cleaned_data if filterset.is_bound else {}

    def compute():
        n = _from_tables(filterset.queryset.model, data, "total", None)
        return filterset.unordered_qs.count() if n is None else n

    return listing.cached(cache_parts(filterset, "total"), compute, current=current)


def facets_for(filterset, current=None):
    """The facets of ``filterset``'s listing (valid and filtered), for its current results."""
    data = filterset.form.cleaned_data if filterset.is_bound else {}
    codebook = filterset.codebook.topics
    counts = listing.cached(
        cache_parts(filterset, "facets"),
        lambda: _count(filterset, data, codebook),
        current=current,
    )
    facets = []
    for name, label, kinds in TOPIC_FACETS:
        facet = Facet(name, label)
        facets.append(facet)
        chosen = data.get(name)
        by_topic = counts[name]
        if by_topic is None:
            facet.uncounted = True
            continue
        topics = [t for t in codebook if t.kind in kinds]
        if chosen is not None and chosen not in topics:
            topics.append(chosen)  # ?topic=syria: a place chosen through the topic filter
        listed = [t for t in topics if by_topic.get(t.pk) or t == chosen]
        listed.sort(key=lambda t: (-by_topic.get(t.pk, 0), t.display_name))
        for topic in listed:
            n = by_topic.get(topic.pk, 0)
            facet.add(topic.slug, topic.display_name, n, topic == chosen, topic.display_lang)

    for name, label, choices in (
        ("stance", _("Stance"), Stance.choices),
        ("issuing_body", _("Issuing body"), IssuingBody.choices),
    ):
        by_value = counts[name]
        facet = Facet(name, label)
        facets.append(facet)
        if by_value is None:
            facet.uncounted = True
            continue
        for value, shown in choices:
            n = by_value.get(value, 0)
            if n or data.get(name) == value:
                facet.add(value, shown, n, data.get(name) == value)

    by_source = counts["source"]
    facet = Facet("source", _("Source"), uncounted=by_source is None)
    facets.append(facet)
    if by_source is not None:
        chosen = data.get("source")
        sources = [s for s in filterset.codebook.sources if s.pk in by_source or s == chosen]
        for source in sorted(sources, key=lambda s: (-by_source.get(s.pk, 0), s.display_name)):
            n = by_source.get(source.pk, 0)
            facet.add(source.slug, source.display_name, n, source == chosen, source.display_lang)

    years = Facet("year", _("Year"), uncounted=counts["year"] is None)
    for year, n in sorted((counts["year"] or {}).items(), reverse=True):
        years.add(year, str(year), n, _year_selected(data, year))
    facets.append(years)
    return facets


def _count(filterset, data, codebook):
    """Every facet's counts: {facet: {value: n}}, in a fixed number of grouped queries."""
    model = filterset.queryset.model
    bases = {}

    def base(name):
        """The results without this facet's own filter, as a queryset of ``model``."""
        params = [p for p in PARAMS[name] if data.get(p)]
        key = tuple(params)
        if key not in bases and not params and filterset.found is not None:
            # The results themselves, whose keys the listing has read (a search's, or a
            # few results': statements.filters): counted by key, not by their filters again.
            from .filters import by_keys  # (statements.filters builds on this module)

            bases[key] = by_keys(filterset.plain(), filterset.found).order_by()
        if key not in bases:
            source = filterset.without(params, queryset=filterset.plain())
            source.qs  # noqa: B018 - runs the filters
            bases[key] = source.unordered_qs.order_by()
        return bases[key]

    # Each lookup once: without a topic filter the topic and the place facets ask the
    # same one (for ?issuing_body=..., two reads of 2.8 million sums at 100,000 releases).
    asked = {}
    live = RELEASE_COUNTS if model is Release else POSITION_COUNTS
    children = filterset.codebook.children
    result = {}
    every_topic = [t.pk for t in codebook]

    def countable(name):
        """Whether this facet's counts, which the tables cannot give, may be counted
        from the records: not when the tables say they would be more than
        limits.LIVE_COUNTS (:func:`at_most`)."""
        bound = at_most(model, data, PARAMS[name], asked)
        return bound is None or bound <= limits.LIVE_COUNTS

    for name, _label, kinds in TOPIC_FACETS:
        chosen = data.get(name)
        listed = [t for t in codebook if t.kind in kinds or t == chosen]
        pks = [t.pk for t in listed]
        tabled = _from_tables(model, data, name, "topic", asked, every_topic)
        if tabled is not None:
            result[name] = {pk: n for pk, n in tabled.items() if pk in pks and n}
        elif countable(name):
            result[name] = _count_topics(base(name), live, pks, children)
        else:
            result[name] = None
    for name, group in (("stance", "stance"), ("issuing_body", "body")):
        tabled = _from_tables(model, data, name, group, asked)
        if tabled is None and countable(name):
            tabled = dict(live[name](base(name)))
        result[name] = tabled
    by_source = _from_tables(model, data, "source", "source", asked)
    if by_source is None and countable("source"):
        by_source = {}
        for pk, n in (*live["source"](base("source")), *live["relay"](base("source"))):
            by_source[pk] = by_source.get(pk, 0) + n
    result["source"] = by_source
    by_year = _from_tables(model, data, "year", "year", asked)
    if by_year is None and countable("year"):
        by_year = {year: n for year, n in live["year"](base("year")) if year is not None}
    result["year"] = by_year
    return result


# Dimensions left out, one more at a time, until the count tables can say how many
# records a listing has at most (see at_most).
LOOSER = ("body", "stance", "pair", "year_from", "year_to")


def at_most(model, data, without, asked):
    """At most how many records counting the listing of ``data`` without the parameters
    ``without`` reads, from the count tables: its own total if they have it (less a
    source filter), else that of the same filters less one dimension after another
    (LOOSER: fewer filters, more records). None when the tables cannot say (a search,
    whose facets are bounded by limits.BROAD_SEARCH instead, or the tables turned off)."""
    if not USE_COUNT_TABLES or data.get("q"):
        return None
    dims = table_filters(data, without)
    if dims is None:  # a date range in part of a year: bounded by its whole years
        dims = table_filters(data, (*without, "date_from", "date_to"))
        if dims is None:
            return None
        for name, year, end in (
            ("date_from", "year_from", "first"),
            ("date_to", "year_to", "last"),
        ):
            if data.get(name) and name not in without:
                dims[year] = getattr(data[name], end).year
    # A source filter narrows the results, not what counting them reads: it is "published
    # or relayed by", an OR that PostgreSQL checks record by record (1,520 positions of a
    # place, a stance and a source took 550 ms to count, reading every position of that
    # stance). So the bound is that of the listing without it.
    dims.pop("source", None)
    listing = "r" if model is Release else "p"
    for looser in (None, *LOOSER):
        dims.pop(looser, None)
        key = (listing, tuple(sorted(dims.items())), None)
        if key not in asked:
            asked[key] = count_tables.lookup(listing, dims, None)
        if asked[key] is not None:
            return asked[key]
    return None


# How each facet counts, per listing: functions of the base queryset.
RELEASE_COUNTS = {
    # Only public positions count (an orphaned one is hidden from readers), as in the
    # topic and stance filters and the count tables.
    "topic": lambda base: (
        TopicEntry.objects.filter(release__in=base, is_public=True)
        .values_list("topic")
        .annotate(n=Count("release", distinct=True))
    ),
    "topic_rollup": lambda base, groups: _rollups(
        TopicEntry.objects.filter(release__in=base, is_public=True), "release", groups
    ),
    "stance": lambda base: (
        Position.objects.filter(release__in=base, is_public=True)
        .values_list("stance")
        .annotate(n=Count("release", distinct=True))
    ),
    "issuing_body": lambda base: base.values_list("issuing_body").annotate(n=Count("pk")),
    "source": lambda base: base.values_list("source").annotate(n=Count("pk")),
    "relay": lambda base: (
        RelayLink.objects.filter(release__in=base)
        .exclude(source=F("release__source"))  # its own source relaying it: counted once
        .values_list("source")
        .annotate(n=Count("release", distinct=True))
    ),
    "year": lambda base: (
        base.exclude(published_precision=DatePrecision.UNKNOWN)
        .values_list(ExtractYear("published_on"))
        .annotate(n=Count("pk"))
    ),
}

POSITION_COUNTS = {
    "topic": lambda base: (
        TopicEntry.objects.filter(position__in=base)
        .values_list("topic")
        .annotate(n=Count("position"))
    ),
    "topic_rollup": lambda base, groups: _rollups(
        TopicEntry.objects.filter(position__in=base), "position", groups
    ),
    "stance": lambda base: base.values_list("stance").annotate(n=Count("pk")),
    "issuing_body": lambda base: base.values_list("issuing_body").annotate(n=Count("pk")),
    "source": lambda base: base.values_list("release_source").annotate(n=Count("pk")),
    "relay": lambda base: (
        RelayLink.objects.filter(release__positions__in=base)
        .exclude(source=F("release__source"))
        .values_list("source")
        .annotate(n=Count("release__positions", distinct=True))
    ),
    "year": lambda base: (
        base.exclude(release_precision=DatePrecision.UNKNOWN)
        .values_list(ExtractYear("release_date"))
        .annotate(n=Count("pk"))
    ),
}


def _rollups(entries, counted, groups):
    """{broader topic pk: how many distinct ``counted`` (release or position) of
    ``entries`` are on any topic of its group}, ``groups`` being {pk: [topic pks]}, in one
    query of the listing entries. Read from them, not through positions and their topics:
    the entries' (release, topic) index answers alone (the places of 1,932 releases at
    100,000: 54 → 16 ms; migration 0022)."""
    rollups = entries.aggregate(
        **{
            f"t{pk}": Count(counted, filter=Q(topic__in=ids), distinct=True)
            for pk, ids in groups.items()
        }
    )
    return {int(key[1:]): n for key, n in rollups.items()}


def _count_topics(results, counts, pks, children):
    """{topic pk: n} for ``pks``: direct counts; a broader topic's (its own and its
    narrower topics' results, each once) in one more query."""
    by_topic = dict(counts["topic"](results))
    broader = [pk for pk in pks if pk in children]
    if broader:
        groups = {pk: descendants(pk, children) for pk in broader}
        by_topic.update(counts["topic_rollup"](results, groups))
    return {pk: n for pk, n in by_topic.items() if pk in pks and n}


def _year_selected(data, year):
    start, end = data.get("date_from"), data.get("date_to")
    return bool(
        start
        and end
        and (start.first, end.last) == (datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    )


@dataclass
class Chip:
    label: str
    value: str
    change: dict
    lang: str = ""
    invalid: bool = False


def active_filters(filterset):
    """One chip per filter in use, each with the query-string change that removes it."""
    if not filterset.is_bound:
        return []
    filterset.is_valid()
    form = filterset.form
    cleaned = getattr(form, "cleaned_data", {})
    chips = []
    for name, form_field in form.fields.items():
        if name == "o":
            continue
        raw = filterset.data.get(name, "")
        if not str(raw).strip():
            continue
        remove = {name: None, **PAGING}
        label = str(form_field.label)
        if name in form.errors:
            chips.append(Chip(label, str(raw), remove, invalid=True))
            continue
        value = cleaned.get(name)
        if value in (None, ""):
            continue
        if isinstance(value, (Topic, Source)):
            chips.append(Chip(label, value.display_name, remove, value.display_lang))
        elif hasattr(form_field, "choices") and name != "q":
            shown = dict(form_field.choices).get(value, value)
            chips.append(Chip(label, str(shown), remove))
        else:
            chips.append(Chip(label, str(value), remove, "ar" if name == "q" else ""))
    return chips


def loosening(filterset, chips):
    """For an empty result: how many results there would be without each filter in use."""
    suggestions = []
    for chip in chips:
        if chip.invalid:
            continue
        relaxed = filterset.without(chip.change)
        n = relaxed.qs.count() if relaxed.is_valid() else 0
        if n:
            suggestions.append((chip, n))
    return suggestions
