"""Facet counts for a filtered listing: how many results each filter value would keep.

Counts are for the current filtered set (search included), each value's count
being the number of results that also have that value. They come from a fixed
number of grouped queries over the filtered ids (seven per listing, whatever
the page size or the number of values), never one query per value.

A topic's count includes its narrower topics, as its filter does: a position
on كازاخستان counts for آسيا الوسطى too.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import ExtractYear
from django.utils.translation import gettext_lazy as _

from .models import DatePrecision, IssuingBody, Position, Release, Source, Stance, Topic

TopicLink = Position.topics.through
RelayLink = Release.relayed_from.through


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    lang: str
    change: dict  # the query-string change that applies (or, if selected, removes) it


@dataclass
class Facet:
    name: str
    label: str
    values: list = field(default_factory=list)

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
        head = self.head
        return [v for v in self.values if v not in head]

    def add(self, value, label, count, selected, lang="", params=None):
        params = params or (self.name,)
        change = {param: None if selected else str(value) for param in params}
        change["page"] = None
        self.values.append(FacetValue(str(value), label, count, selected, lang, change))


def facets_for(filterset):
    """The facets of ``filterset``'s listing, for its current results."""
    model = filterset.queryset.model
    data = filterset.form.cleaned_data if filterset.is_bound and filterset.is_valid() else {}
    filterset.qs  # noqa: B018 - filters, and keeps the unscored, unordered set
    ids = filterset.unordered_qs.order_by().values("pk")
    if model is Release:
        counts = _release_counts(Release.objects.filter(pk__in=ids))
    else:
        counts = _position_counts(Position.objects.filter(pk__in=ids))
    return _build(counts, data)


def _release_counts(base):
    positions = Position.objects.filter(release__in=base)
    topic_rows = (
        TopicLink.objects.filter(position__release__in=base)
        .values("topic")
        .annotate(n=Count("position__release", distinct=True))
    )
    return {
        "stance": positions.values_list("stance").annotate(n=Count("release", distinct=True)),
        "topic": {row["topic"]: row["n"] for row in topic_rows},
        "topic_rollup": lambda ids: Count("pk", filter=Q(positions__topics__in=ids), distinct=True),
        "base": base,
        "issuing_body": base.values_list("issuing_body").annotate(n=Count("pk")),
        "source": base.values_list("source").annotate(n=Count("pk")),
        "relay": RelayLink.objects.filter(release__in=base)
        .values_list("source")
        .annotate(n=Count("release", distinct=True)),
        "year": base.exclude(published_precision=DatePrecision.UNKNOWN)
        .values_list(ExtractYear("published_on"))
        .annotate(n=Count("pk")),
    }


def _position_counts(base):
    topic_rows = (
        TopicLink.objects.filter(position__in=base).values("topic").annotate(n=Count("position"))
    )
    return {
        "stance": base.values_list("stance").annotate(n=Count("pk")),
        "topic": {row["topic"]: row["n"] for row in topic_rows},
        "topic_rollup": lambda ids: Count("pk", filter=Q(topics__in=ids), distinct=True),
        "base": base,
        "issuing_body": base.values_list("release__issuing_body").annotate(n=Count("pk")),
        "source": base.values_list("release__source").annotate(n=Count("pk")),
        "relay": RelayLink.objects.filter(release__positions__in=base)
        .values_list("source")
        .annotate(n=Count("release__positions", distinct=True)),
        "year": base.exclude(release__published_precision=DatePrecision.UNKNOWN)
        .values_list(ExtractYear("release__published_on"))
        .annotate(n=Count("pk")),
    }


def _build(counts, data):
    facets = []

    def choice_facet(name, label, choices, rows):
        by_value = dict(rows)
        facet = Facet(name, label)
        for value, shown in choices:
            n = by_value.get(value, 0)
            if n or data.get(name) == value:
                facet.add(value, shown, n, data.get(name) == value)
        facets.append(facet)

    # Topics: direct counts; a broader topic's count (its own and its narrower
    # topics' results, without double counting) in one more query.
    topics = list(Topic.objects.all())
    children = {}
    for topic in topics:
        if topic.parent_id:
            children.setdefault(topic.parent_id, []).append(topic.pk)
    topic_counts = dict(counts["topic"])
    if children:
        rollups = counts["base"].aggregate(
            **{f"t{pk}": counts["topic_rollup"](_descendants(pk, children)) for pk in children}
        )
        for key, n in rollups.items():
            topic_counts[int(key[1:])] = n
    for name, label, kinds in (
        ("topic", _("Topic"), {Topic.Kind.THEME, Topic.Kind.ACTOR}),
        ("place", _("Place"), {Topic.Kind.PLACE}),
    ):
        facet = Facet(name, label)
        chosen = data.get(name)
        listed = [t for t in topics if t.kind in kinds and (topic_counts.get(t.pk) or t == chosen)]
        listed.sort(key=lambda t: (-topic_counts.get(t.pk, 0), t.display_name))
        for topic in listed:
            n = topic_counts.get(topic.pk, 0)
            facet.add(topic.slug, topic.display_name, n, topic == chosen, topic.display_lang)
        facets.append(facet)

    choice_facet("stance", _("Stance"), Stance.choices, counts["stance"])
    choice_facet("issuing_body", _("Issuing body"), IssuingBody.choices, counts["issuing_body"])

    source_counts = dict(counts["source"])
    for pk, n in counts["relay"]:
        source_counts[pk] = source_counts.get(pk, 0) + n
    facet = Facet("source", _("Source"))
    chosen = data.get("source")
    sources = Source.objects.filter(Q(pk__in=source_counts) | Q(pk=getattr(chosen, "pk", None)))
    for source in sorted(sources, key=lambda s: (-source_counts.get(s.pk, 0), s.name)):
        n = source_counts.get(source.pk, 0)
        facet.add(source.slug, source.display_name, n, source == chosen, source.display_lang)
    facets.append(facet)

    years = Facet("year", _("Year"))
    for year, n in sorted(counts["year"], reverse=True):
        if year is not None:
            selected = _year_selected(data, year)
            years.add(year, str(year), n, selected, params=("date_from", "date_to"))
    facets.append(years)
    return facets


def _descendants(pk, children):
    found, todo = [pk], [pk]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found


def _year_selected(data, year):
    start, end = data.get("date_from"), data.get("date_to")
    return bool(start and end and start.text == end.text == str(year))


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
        remove = {name: None, "page": None}
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
        data = filterset.data.copy()
        for name in chip.change:
            data.pop(name, None)
        relaxed = type(filterset)(data, queryset=filterset.queryset, request=filterset.request)
        n = relaxed.qs.count() if relaxed.is_valid() else 0
        if n:
            suggestions.append((chip, n))
    return suggestions
