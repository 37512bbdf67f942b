"""One FilterSet per public listing; the filters live in the URL's query string.

Invalid values (an unknown topic, a stance that does not exist) are form
errors shown on the page, never a server error.
"""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import IssuingBody, Position, Release, Source, Stance, Topic


class TopicFilter(django_filters.ModelChoiceFilter):
    """A topic and everything under it in the codebook."""

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value.descendant_ids()}).distinct()


MAX_QUERY_LENGTH = 200


def contains_all_words(fields):
    """A plain text filter: every word of the query appears in one of ``fields``.

    A literal substring match (no spelling folding); the Arabic search issue
    replaces it with the analyzer-backed search behind the same ``q`` parameter.
    """

    def method(self, queryset, name, value):
        for word in value.split()[:20]:
            condition = Q()
            for field in fields:
                condition |= Q(**{f"{field}__icontains": word})
            queryset = queryset.filter(condition)
        return queryset

    return method


class ReleaseFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Text contains"), method="search", max_length=MAX_QUERY_LENGTH
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

    search = contains_all_words(["title", "body"])

    def by_source(self, queryset, name, value):
        # A release is from a source if the source published or relayed it.
        return queryset.filter(Q(source=value) | Q(relayed_from=value)).distinct()


class PositionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Text contains"), method="search", max_length=MAX_QUERY_LENGTH
    )
    topic = TopicFilter(
        field_name="topics", queryset=Topic.objects.all(), to_field_name="slug", label=_("Topic")
    )
    stance = django_filters.ChoiceFilter(choices=Stance.choices, label=_("Stance"))
    issuing_body = django_filters.ChoiceFilter(
        field_name="release__issuing_body", choices=IssuingBody.choices, label=_("Issuing body")
    )
    source = django_filters.ModelChoiceFilter(
        field_name="release__source",
        queryset=Source.objects.all(),
        to_field_name="slug",
        label=_("Source"),
    )

    class Meta:
        model = Position
        fields = ["q", "topic", "stance", "issuing_body", "source"]

    search = contains_all_words(["quote", "summary"])
