"""One FilterSet per public listing; the filters live in the URL's query string.

Invalid values (an unknown topic, a stance that does not exist) are form
errors shown on the page, never a server error. ``q`` is the Arabic search
(statements.search): when it is given, results come by relevance, then newest.
Any text is accepted there; the analyzer cuts a very long query and says so.
"""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import search
from .models import (
    NEWEST_FIRST,
    POSITION_NEWEST_FIRST,
    IssuingBody,
    Position,
    Release,
    Source,
    Stance,
    Topic,
)


class TopicFilter(django_filters.ModelChoiceFilter):
    """A topic and everything under it in the codebook."""

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value.descendant_ids()}).distinct()


class SearchMixin:
    """The ``q`` filter: Arabic full-text search, ranked by relevance, ties newest first."""

    newest_first = ()
    search_result = None

    def search(self, queryset, name, value):
        result = search.search(queryset, value)
        self.search_result = result
        if result.ranked:
            return result.queryset.order_by("-search_rank", *self.newest_first)
        return result.queryset


class ReleaseFilter(SearchMixin, django_filters.FilterSet):
    newest_first = NEWEST_FIRST

    q = django_filters.CharFilter(
        label=_("Search"),
        method="search",
        help_text=_('All words must match. "Exact phrase", -excluded word, OR for either.'),
    )
    topic = TopicFilter(
        field_name="positions__topics",
        queryset=Topic.objects.all(),
        to_field_name="slug",
        label=_("Topic"),
    )
    issuing_body = django_filters.ChoiceFilter(choices=IssuingBody.choices, label=_("Issuing body"))
    source = django_filters.ModelChoiceFilter(
        queryset=Source.objects.all(), to_field_name="slug", label=_("Source"), method="by_source"
    )

    class Meta:
        model = Release
        fields = ["q", "topic", "issuing_body", "source"]

    def by_source(self, queryset, name, value):
        # A release is from a source if the source published or relayed it.
        return queryset.filter(Q(source=value) | Q(relayed_from=value)).distinct()


class PositionFilter(SearchMixin, django_filters.FilterSet):
    newest_first = POSITION_NEWEST_FIRST

    q = django_filters.CharFilter(
        label=_("Search"),
        method="search",
        help_text=_('All words must match. "Exact phrase", -excluded word, OR for either.'),
    )
    topic = TopicFilter(
        field_name="topics", queryset=Topic.objects.all(), to_field_name="slug", label=_("Topic")
    )
    stance = django_filters.ChoiceFilter(choices=Stance.choices, label=_("Stance"))
    issuing_body = django_filters.ChoiceFilter(
        field_name="release__issuing_body", choices=IssuingBody.choices, label=_("Issuing body")
    )
    source = django_filters.ModelChoiceFilter(
        queryset=Source.objects.all(), to_field_name="slug", label=_("Source"), method="by_source"
    )

    class Meta:
        model = Position
        fields = ["q", "topic", "stance", "issuing_body", "source"]

    def by_source(self, queryset, name, value):
        # As for releases: the source published or relayed the position's release.
        return queryset.filter(Q(release__source=value) | Q(release__relayed_from=value)).distinct()
