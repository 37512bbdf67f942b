"""One FilterSet per public listing; the filters live in the URL's query string.

Invalid values (an unknown topic, a stance that does not exist, "2018-13")
are form errors shown on the page, never a server error. ``q`` is the Arabic
search (statements.search): when it is given, results come by relevance, then
newest, unless the reader orders them by date.

Dates respect their precision. ``from``/``to`` take a year (2018), a month
(2018-11) or a day (2018-11-08); a record is in the range when the whole
period its date is known to lies in it. A release known only to "2018" is in
"2018", "2015–2020" and "from 2018", but not in "November 2018": the archive
does not guess the day it does not know. Undated records are left out of any
date range.
"""

import calendar
import datetime
from functools import cached_property, partial

import django_filters
from django import forms
from django.db import connections
from django.db.models import Q
from django.http import QueryDict
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelChoiceField, ModelChoiceIterator

from . import limits, search
from .analysis import fold_digits
from .dates import PARTIAL_DATE_RE
from .limits import MAX_DATE_LENGTH, MAX_SLUG_LENGTH, MAX_YEAR, MIN_YEAR
from .models import (
    DatePrecision,
    IssuingBody,
    Position,
    Release,
    Source,
    Stance,
    Topic,
    TopicEntry,
    TopicKind,
    children_of,
    descendants,
    public_releases_q,
)
from .paging import Key, Walk, order_by

# The listings' orderings, as keys for keyset paging (statements.paging). Both
# put undated records last. Positions of one release keep their order.
RELEASE_NEWEST = (Key("published_on", descending=True, nullable=True), Key("public_id", True))
RELEASE_OLDEST = (Key("published_on", nullable=True), Key("public_id"))
POSITION_NEWEST = (
    Key("release_date", descending=True, nullable=True),
    Key("release_public_id", descending=True),
    Key("number"),
)
POSITION_OLDEST = (Key("release_date", nullable=True), Key("release_public_id"), Key("number"))
RelayLink = Release.relayed_from.through


class PartialDate:
    """A year, month or day a reader typed, as the period it stands for."""

    def __init__(self, text):
        # Arabic-Indic and Persian digits are read as the digits they are.
        match = PARTIAL_DATE_RE.fullmatch(fold_digits(text.strip()))
        if not match:
            raise ValueError(text)
        year, month, day = (int(g) if g else None for g in match.groups())
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError(text)
        if day is not None:
            self.first = self.last = datetime.date(year, month, day)
        elif month is not None:
            self.first = datetime.date(year, month, 1)
            self.last = self.first.replace(day=calendar.monthrange(year, month)[1])
        else:
            self.first, self.last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        self.text = text.strip()

    def __str__(self):
        return self.text


class PartialDateField(forms.Field):
    widget = forms.TextInput
    default_error_messages = {
        "invalid": _("Enter a year (2018), a month (2018-11) or a day (2018-11-08)."),
    }

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return None
        try:
            if len(value) > MAX_DATE_LENGTH:
                raise ValueError(value)
            return PartialDate(value)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class OrderingField(forms.ChoiceField):
    """An ordering; an unknown one (a mistyped link) is the default, not an error."""

    def to_python(self, value):
        value = super().to_python(value)
        return value if value in dict(self.choices) else ""

    def validate(self, value):
        pass


class OrderingFilter(django_filters.Filter):
    field_class = OrderingField


class QuickSelect(forms.Select):
    """Django's Select, its HTML written in Python: the template it renders with renders
    two more templates per option, and a listing's form has about a hundred options (every
    topic, place and source): 23 % of a listing page's time at 100,000 releases
    (bench/RESULTS.md). The same markup (tests/test_listings.py compares them)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        groups = []
        for group_name, options, _index in widget["optgroups"]:
            listed = format_html_join(
                "",
                '\n  <option value="{}"{}>{}</option>\n',
                ((str(o["value"]), _attrs(o["attrs"]), o["label"]) for o in options),
            )
            if group_name:
                listed = format_html(
                    '\n  <optgroup label="{}">{}\n  </optgroup>', group_name, listed
                )
            groups.append((listed,))
        return format_html(
            '<select name="{}"{}>{}\n</select>',
            widget["name"],
            _attrs(widget["attrs"]),
            format_html_join("", "{}", groups),
        )


def _attrs(attrs):
    """Attributes as Django's widgets/attrs.html writes them."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in attrs.items()
            if value is not False
        ),
    )


class ArchiveFilterForm(forms.Form):
    def __init__(self, *args, codebook=None, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, DisplayNameField):
                field.codebook = codebook
            if type(field.widget) is forms.Select:
                quick = QuickSelect(attrs=field.widget.attrs)
                quick.choices, quick.is_required = field.widget.choices, field.widget.is_required
                field.widget = quick

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start.first > end.last:
            self.add_error("date_to", _("The end of the date range is before its start."))
        return cleaned


DATE_HELP = _("2018, 2018-11 or 2018-11-08")


class PartialDateFilter(django_filters.Filter):
    """One end of a date range, at the precision the record's date is known to."""

    field_class = PartialDateField

    def __init__(self, *args, end, precision, **kwargs):
        self.end, self.precision = end, precision
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric", "dir": "ltr"}))
        kwargs.setdefault("help_text", DATE_HELP)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        return qs.filter(date_bound(self.field_name, self.precision, value, end=self.end))


def date_bound(on, precision, value, *, end):
    """Records whose whole dated period (``on`` at its ``precision``) starts after
    ``value``'s first day, or ends before its last day (``end``)."""
    if not end:
        # A period's stored date is its first day: starting on or after the first day is enough.
        return Q(**{f"{on}__gte": value.first}) & ~Q(**{precision: DatePrecision.UNKNOWN})
    # A month (a year) ends on or before the last day when it starts before the
    # month (the year) of the day after.
    after = value.last + datetime.timedelta(days=1)
    by_precision = (
        Q(**{precision: DatePrecision.DAY, f"{on}__lte": value.last})
        | Q(**{precision: DatePrecision.MONTH, f"{on}__lt": after.replace(day=1)})
        | Q(**{precision: DatePrecision.YEAR, f"{on}__lt": datetime.date(after.year, 1, 1)})
    )
    # Each branch implies this plain bound; said once more, it is a bound an index can
    # start from (without it PostgreSQL walked 129,000 newer positions at 100,000 releases
    # before reaching the range: 85 ms, against under 1 ms).
    return Q(**{f"{on}__lte": value.last}) & by_precision


class Codebook:
    """The codebook's topics and the sources, read once for a listing page: its filter
    form (every choice, and the check of each value given), its facets and the topic
    tree of its topic filter, instead of a query (or a server-side cursor) for each."""

    @cached_property
    def topics(self):
        return list(Topic.objects.all())

    @cached_property
    def sources(self):
        return list(Source.objects.all())

    @cached_property
    def children(self):
        """Parent id → its sub-topics' ids."""
        return children_of((topic.pk, topic.parent_id) for topic in self.topics)


class CodebookChoiceIterator(ModelChoiceIterator):
    """The choices of a :class:`DisplayNameField` from its form's codebook."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for obj in self.field.listed():
            yield self.choice(obj)

    def __len__(self):
        extra = (self.field.empty_label, self.field.null_label)
        return len(self.field.listed()) + sum(label is not None for label in extra)

    def __bool__(self):
        return len(self) > 0


class DisplayNameField(ModelChoiceField):
    """Topics and sources listed by their name in the interface language; a value longer
    than any slug is an invalid choice, found without a query. ``pick`` chooses the
    field's objects from the form's :class:`Codebook` (the form sets ``codebook``);
    without one, they are its queryset's."""

    iterator = CodebookChoiceIterator
    codebook = None

    def __init__(self, *args, pick=None, **kwargs):
        self.pick = pick
        super().__init__(*args, **kwargs)

    def picked(self):
        """The field's objects from the codebook; None without one."""
        if self.codebook is None or self.pick is None:
            return None
        return self.pick(self.codebook)

    def listed(self):
        picked = self.picked()
        return list(self.queryset) if picked is None else picked

    def to_python(self, value):
        if isinstance(value, str) and len(value) > MAX_SLUG_LENGTH:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value[:MAX_SLUG_LENGTH]},
            )
        picked = self.picked()
        if picked is None or not isinstance(value, str) or value in self.empty_values:
            return super().to_python(value)  # (no codebook, a model instance, nothing)
        key = self.to_field_name or "pk"
        for obj in picked:
            if str(getattr(obj, key)) == value:
                return obj
        raise forms.ValidationError(
            self.error_messages["invalid_choice"],
            code="invalid_choice",
            params={"value": value},
        )

    def label_from_instance(self, obj):
        return obj.display_name


class SourceFilter(django_filters.ModelChoiceFilter):
    field_class = DisplayNameField


class TopicFilter(django_filters.ModelChoiceFilter):
    """A topic and everything under it in the codebook, through the listing entries
    (``field_name`` is the entry's column for the listed record)."""

    field_class = DisplayNameField

    def filter(self, qs, value):
        if not value:
            return qs
        topics = descendants(value.pk, self.parent.codebook.children)
        on_topic = TopicEntry.objects.filter(topic__in=topics, is_public=True)
        carried = getattr(self.parent, "carried_by_entries", None)
        if carried is not None:
            on_topic = on_topic.filter(carried())
        return qs.filter(pk__in=on_topic.values(self.field_name))


ORDERINGS = [
    ("newest", _("Newest first")),
    ("oldest", _("Oldest first")),
    ("relevance", _("Most relevant first")),
]

ALL = _("All")
SEARCH_HELP = _('All words must match. "Exact phrase", -excluded word, OR for either.')


def by_keys(queryset, keys, field="pk"):
    """``queryset`` limited to the records whose ``field`` (the primary key, or a foreign
    key) is one of ``keys`` (up to BROAD_SEARCH, or an export's chunk): on PostgreSQL as
    one array parameter, which Django and psycopg handle as one value rather than 2,000
    (about 10 ms a page, and as much for each chunk of an export). The keys (integers)
    go as the array's text, cast to the column's type: psycopg writes a list of 1,000 ints
    in 0.51 ms of Python, its text in 0.08 (a few chunk queries for each 1,000 rows
    of an export)."""
    connection = connections[queryset.db]
    if connection.vendor == "postgresql":
        meta = queryset.model._meta
        column_field = meta.pk if field == "pk" else meta.get_field(field)
        return queryset.filter(any_key(connection, column_field, keys))
    return queryset.filter(**{f"{field}__in": keys})


def any_key(connection, field, keys):
    """PostgreSQL: the records whose ``field`` (a model field of integer keys, on the
    query's own table) is one of ``keys``, given as one constant array (by_keys)."""
    column = connection.ops.quote_name(field.column)
    condition = f"{{t}}.{column} = ANY(%s::{field.db_type(connection)}[])"
    return search.OnOwnTable(condition, ["{" + ",".join(str(int(key)) for key in keys) + "}"])


def topic_walk(topics, positions, carried=None):
    """How a page of ``positions`` on any of ``topics`` (a topic and its narrower ones)
    can walk their listing entries (statements.paging.Walk): the entries of each, with the
    other filters they carry; None for more than limits.MAX_WALKED_TOPICS topics."""
    if len(topics) > limits.MAX_WALKED_TOPICS:
        return None
    entries = TopicEntry.objects.filter(carried or Q(), is_public=True)
    return Walk(tuple(entries.filter(topic=pk) for pk in topics), "position", positions)


class ArchiveFilterSet(django_filters.FilterSet):
    """What both listings share: search, ordering, and the date range."""

    newest_first = oldest_first = ()
    search_result = None
    broad = False  # a search with more matches than limits.BROAD_SEARCH
    found = None  # the keys of every result, when they were read (a search's, or a few)
    ranked_count = None  # the number of results ranked by relevance, when known
    bounded = True  # whether a broad search is bounded (exports list every match)
    keys = None  # the ordering's keys for keyset paging; None when ranked by relevance
    counted_only = False  # a listing only counted (facets), never paged: see without()

    q = django_filters.CharFilter(label=_("Search"), method="search", help_text=SEARCH_HELP)
    o = OrderingFilter(label=_("Order"), choices=ORDERINGS, method="order")

    def __init__(self, data=None, *args, same_search=None, codebook=None, **kwargs):
        # Always bound: a listing without a query string is filtered (by nothing),
        # ordered and paged like any other.
        super().__init__(QueryDict() if data is None else data, *args, **kwargs)
        self.unordered_qs = self.queryset  # until filter_queryset runs (an unbound form)
        self.same_search = same_search  # a search already run for the same ``q``
        self.codebook = codebook or Codebook()  # shared with the filtersets of its facets

    @property
    def form(self):
        if not hasattr(self, "_form"):
            form = self.get_form_class()
            self._form = form(self.data, prefix=self.form_prefix, codebook=self.codebook)
        return self._form

    def search(self, queryset, name, value):
        # Scored after every other filter (filter_queryset): the unscored set is
        # what the facets count.
        result = search.search(queryset, value, rank=False, same_as=self.same_search)
        self.search_result = result
        return result.queryset

    def order(self, queryset, name, value):
        return queryset  # applied last, in filter_queryset

    def filter_queryset(self, queryset):
        unfiltered, queryset = queryset, super().filter_queryset(queryset)
        self.unordered_qs = queryset
        ordering = self.form.cleaned_data.get("o") or ""
        relevance = self.search_result is not None and ordering in ("", "relevance")
        found = None  # the keys of the matches, when there are at most BROAD_SEARCH
        newest = None  # the keys of the newest BROAD_SEARCH matches, when found already
        if self.search_result is not None and self.bounded:
            bound = limits.BROAD_SEARCH
            if relevance and self.search_result.rankable:
                # Ranked, a broad search needs its newest matches: found at once, they
                # also say whether it is broad (one reading of the matches, not two).
                found = search.newest_matches(
                    queryset, unfiltered, self.newest_first, bound, self.search_result.query
                )
            if found is None:
                with search.plans(using=queryset.db):
                    found = list(queryset.order_by().values_list("pk", flat=True)[: bound + 1])
            elif len(found) > bound:
                newest = found[:bound]
            self.broad = len(found) > bound
            if self.broad:
                found = None
            else:
                self.found = found
        if relevance:
            ranked = queryset
            keys = found if newest is None else newest
            if keys is None and self.broad and self.search_result.rankable:
                # Relevance among the newest matches only (limits.BROAD_SEARCH).
                ordering = order_by(self.newest_first)
                newest = queryset.order_by(*ordering).values_list("pk")
                walk = search.walks_newest(self.search_result.query) or search.dense(
                    queryset, unfiltered, ordering, bound
                )
                kind = "newest" if walk else "index"
                with search.plans(kind, using=queryset.db):
                    keys = [pk for (pk,) in newest[:bound]]
            if keys is not None:
                # Ranked by key: the page and its count need not match the words again.
                ranked = by_keys(unfiltered, keys)
            search.with_rank(self.search_result, ranked)
            if self.search_result.ranked:
                self.keys = None
                if keys is not None and connections[queryset.db].vendor == "postgresql":
                    # (SQLite's ranking joins its FTS table, which filters too: a row whose
                    # tokens are stale would be counted and not listed. Counted there.)
                    self.ranked_count = len(keys)
                return self.search_result.queryset.order_by(
                    "-search_rank", *order_by(self.newest_first)
                )
        self.keys = self.oldest_first if ordering == "oldest" else self.newest_first
        if found is None and self.search_result is None:
            found = self.few_matches(queryset)
            if found is not None:
                self.found = found
        if found is not None:
            queryset = by_keys(unfiltered, found)
        return queryset.order_by(*order_by(self.keys))

    @property
    def match_count(self):
        """The number of results, when their keys were read (:attr:`found`); else None."""
        return None if self.found is None else len(self.found)

    def few_matches(self, queryset):
        """The keys of every result, read first and unordered, when the count tables say
        there are at most limits.KEYS_FIRST (None otherwise, or if there are more after
        all: the tables bound the reading, they are not trusted with the results).

        A page in date order walks the ordering's index and checks each record against
        the filters until it has a page; when the results are rarer than PostgreSQL
        expects (two topics and a source), that walk reads most of the archive: 876 ms
        for 71 of 800,000 positions, which PostgreSQL expected to be 917. Their keys,
        found through the filters' own indexes and then ordered by key, cost a few
        milliseconds a hundred. A listing one topic's entries can walk
        (statements.paging.Walk) stops after its page as it is (:meth:`walks_first`). The
        keys (or that there are too many) are kept for the archive's
        generation, as its counts are: a listing seen before reads neither the tables nor
        the keys again."""
        if self.counted_only or self.walks_first():
            return None
        # (statements.facets and statements.listing build on the filter sets.)
        from .facets import at_most, cache_parts
        from .listing import cached, generation

        most = limits.KEYS_FIRST

        def read():
            """The keys, or False (kept too: a listing seen before reads nothing again)."""
            bound = at_most(queryset.model, self.form.cleaned_data, (), {})
            if bound is None or bound > most:
                return False
            found = list(queryset.order_by().values_list("pk", flat=True)[: most + 1])
            return found if len(found) <= most else False

        parts = cache_parts(self, f"keys first {most}")
        found = cached(parts, read, current=generation(self.request))
        return None if found is False else found

    def walk(self):
        """How the listing's keyset pages can be read through narrower rows
        (statements.paging.Walk), if they can."""
        return None

    def walks_first(self):
        """Whether the listing's pages are walked (:meth:`walk`) however few its results
        are, rather than read by their keys first (:meth:`few_matches`)."""
        return False

    @property
    def ordering(self):
        """The ordering in effect, as the reader can choose it."""
        self.qs  # noqa: B018 - the search, once run, says whether it can be ranked
        chosen = self.form.cleaned_data.get("o") if self.is_bound and self.is_valid() else ""
        if chosen in ("newest", "oldest"):
            return chosen
        return "relevance" if self.rankable else "newest"

    @property
    def rankable(self):
        """Whether the search in use can order results by relevance."""
        return bool(self.search_result and self.search_result.rankable)

    def without(self, params, queryset=None):
        """The same listing without the filters ``params`` (over ``queryset`` if given),
        to be counted (facets, suggestions): a search kept is not re-parsed, nor probed
        for being broad."""
        data = self.data.copy()
        for param in params:
            data.pop(param, None)
        relaxed = type(self)(
            data,
            queryset=self.queryset if queryset is None else queryset,
            request=self.request,
            same_search=self.search_result,
            codebook=self.codebook,
        )
        relaxed.bounded = False
        relaxed.counted_only = True
        return relaxed

    @classmethod
    def plain(cls):
        """The listed records without the listing's joins and annotations: what facets count."""
        return cls._meta.model.objects.filter(cls.listed)

    def by_source(self, queryset, name, value):
        return queryset.filter(self.source_condition(value))

    def source_condition(self, value):
        """Published by the source ``value`` or relayed by it (on the listing's records,
        or on position listing entries, which name their fields the same).

        On PostgreSQL the releases it relayed go in as a constant array of their keys,
        read once per generation, not as a subquery: PostgreSQL charged the subquery's
        cost again for each record a plan would look up by key, and so read every
        position with the stance instead (a topic's with a stance and a source at
        100,000 releases: 180 ms; with the array, 17 ms, by the topic's entries)."""
        published, release = self.source_fields
        relayed = RelayLink.objects.filter(source=value).values("release")
        relays = Q(**{f"{release}__in": relayed})
        connection = connections[self.queryset.db]
        if connection.vendor == "postgresql":
            from .listing import cached, generation  # (statements.listing builds on this)

            most = limits.MAX_RELAYED_KEYS

            def read():
                keys = sorted(relayed.values_list("release", flat=True)[: most + 1])
                return keys if len(keys) <= most else False  # (False: the subquery)

            keys = cached(["relayed by", value.pk, most], read, current=generation(self.request))
            if keys is not False:
                meta = self.queryset.model._meta
                field = meta.pk if release == "pk" else meta.get_field(release.removesuffix("_id"))
                relays = Q(any_key(connection, field, keys))
        return Q(**{published: value}) | relays

    def by_stance(self, queryset, name, value):
        """Releases with a position of this stance."""
        stated = Position.objects.filter(stance=value, is_public=True).values("release")
        return queryset.filter(pk__in=stated)


def topic_filter(field_name, label, kinds=None):
    topics = Topic.objects.filter(kind__in=kinds) if kinds else Topic.objects.all()
    return TopicFilter(
        field_name=field_name,
        queryset=topics,
        to_field_name="slug",
        label=label,
        empty_label=ALL,
        pick=partial(_topics_of_kinds, kinds=kinds),
    )


def _topics_of_kinds(codebook, kinds):
    return [t for t in codebook.topics if not kinds or t.kind in kinds]


def _sources(codebook):
    return codebook.sources


def source_filter():
    return SourceFilter(
        queryset=Source.objects.all(),
        to_field_name="slug",
        label=_("Source"),
        method="by_source",
        empty_label=ALL,
        pick=_sources,
    )


def date_range(field_name, precision):
    return (
        PartialDateFilter(field_name=field_name, precision=precision, label=_("From"), end=False),
        PartialDateFilter(field_name=field_name, precision=precision, label=_("To"), end=True),
    )


FIELDS = ["q", "topic", "place", "stance", "issuing_body", "source", "date_from", "date_to"]


# ``topic`` takes any codebook entry (places too: ?topic=syria is a link worth
# keeping); ``place`` offers the places alone. ``source`` is a source that
# published or relayed the release.


class ReleaseFilter(ArchiveFilterSet):
    newest_first, oldest_first = RELEASE_NEWEST, RELEASE_OLDEST
    listed = public_releases_q()
    source_fields = ("source", "pk")

    topic = topic_filter("release", _("Topic"))
    place = topic_filter("release", _("Place"), [TopicKind.PLACE])
    stance = django_filters.ChoiceFilter(
        choices=Stance.choices, label=_("Stance"), method="by_stance", empty_label=ALL
    )
    issuing_body = django_filters.ChoiceFilter(
        choices=IssuingBody.choices, label=_("Issuing body"), empty_label=ALL
    )
    source = source_filter()
    date_from, date_to = date_range("published_on", "published_precision")

    class Meta:
        model = Release
        form = ArchiveFilterForm
        fields = FIELDS


class PositionFilter(ArchiveFilterSet):
    """Positions, filtered and paged on their own columns (their listing copies)."""

    newest_first, oldest_first = POSITION_NEWEST, POSITION_OLDEST
    listed = Q(is_public=True)
    source_fields = ("release_source", "release_id")

    topic = topic_filter("position", _("Topic"))
    place = topic_filter("position", _("Place"), [TopicKind.PLACE])
    stance = django_filters.ChoiceFilter(choices=Stance.choices, label=_("Stance"), empty_label=ALL)
    issuing_body = django_filters.ChoiceFilter(
        choices=IssuingBody.choices,
        label=_("Issuing body"),
        empty_label=ALL,
    )
    source = source_filter()
    date_from, date_to = date_range("release_date", "release_precision")

    class Meta:
        model = Position
        form = ArchiveFilterForm
        fields = FIELDS

    # The filters a topic's listing entries can say alone (with ``o`` for newest first).
    WALKED = frozenset(
        {"topic", "place", "stance", "issuing_body", "source", "date_from", "date_to", "o"}
    )

    def walk(self):
        """Newest first, positions on one topic (or place) and its narrower ones, filtered
        by nothing but what their listing entries carry (and a source, whose relays each
        entry walked is checked against): a page walks the entries of each
        of those topics down their index (``topicentry_newest_idx``, migration 0020) and
        stops after the page, rather than reading every entry of the topics and sorting
        them (statements.paging.Walk; a broader topic's positions with a stance and a
        body at 100,000 releases: 3,795 sorted for a page, 103 ms of SQL)."""
        topics = self.walked_topics()
        if topics is None or self.found is not None:
            return None  # (found: few results, whose keys were read first: few_matches)
        carried = self.carried_by_entries()
        source = self.form.cleaned_data.get("source")
        if source:
            # Checked on each entry walked (its release's source, or a relay of it):
            # walking the ordering's index of every position instead read 167,000 to
            # find a page of a place's with a body and a source, 194 ms at 100,000.
            carried &= self.source_condition(source)
        return topic_walk(topics, self.queryset, carried)

    def walked_topics(self):
        """The topics whose entries :meth:`walk` would walk (a topic or a place and its
        narrower ones), or None when the listing's filters or order are not theirs."""
        if self.keys != self.newest_first or self.search_result is not None:
            return None
        data = self.form.cleaned_data
        used = {name for name, value in data.items() if value not in (None, "")}
        if used - self.WALKED:
            return None
        picked = [data[name] for name in ("topic", "place") if data.get(name)]
        if len(picked) != 1:
            return None
        return descendants(picked[0].pk, self.codebook.children)

    def walks_first(self):
        """One topic's entries, filters checked in their index, are walked whatever the
        results: the walk stops after the page. Several topics' (up to 8 walks), or a
        source checked entry by entry, may read far for few results, whose keys, read
        first, cost less."""
        topics = self.walked_topics()
        return topics is not None and len(topics) == 1 and not self.form.cleaned_data.get("source")

    def carried_by_entries(self):
        """The other filters in use that a position's listing entries carry copies of
        (statements.listing: its stance, body and dates), said again to its topic filter,
        which then reads only the entries that can match rather than every entry of the
        topic: the same positions. (A release's entries are its positions': not for the
        release listing, whose stance is any position's.)"""
        data = self.form.cleaned_data
        condition = Q()
        for name in ("stance", "issuing_body"):
            if data.get(name):
                condition &= Q(**{name: data[name]})
        for name, end in (("date_from", False), ("date_to", True)):
            if data.get(name) is not None:
                condition &= date_bound("release_date", "release_precision", data[name], end=end)
        return condition
