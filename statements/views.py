"""Public pages: thin generic views over the published QuerySets."""

from django.db import connection
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.generic import DetailView, ListView, TemplateView
from django_filters.views import FilterView

from . import search
from .facets import active_filters, facets_for, loosening
from .filters import PositionFilter, ReleaseFilter
from .models import DatePrecision, Position, Release, Source, Topic
from .passages import runs

PAGE_SIZE = 20


def position_count():
    """The number of positions of each release, as a subquery (no GROUP BY on the listing)."""
    counts = (
        Position.objects.filter(release=OuterRef("pk"))
        .order_by()
        .values("release")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts), 0)


def public_positions():
    return (
        Position.objects.published()
        .select_related("release", "release__source")
        .prefetch_related("topics", "release__relayed_from")
    )


class HomeView(TemplateView):
    template_name = "statements/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["latest_releases"] = (
            Release.objects.published()
            .select_related("source")
            .annotate(position_count=position_count())
            .newest_first()[:8]
        )
        context["topics"] = (
            Topic.objects.annotate(
                public_count=Count(
                    "positions", filter=Q(positions__in=Position.objects.published())
                )
            )
            .filter(public_count__gt=0)
            .order_by("-public_count", "name_ar")[:16]
        )
        context["counts"] = {
            "releases": Release.objects.published().count(),
            "positions": Position.objects.published().count(),
        }
        return context


class ArchiveListView(FilterView):
    """A filtered listing with its facet counts, active-filter chips and ordering."""

    paginate_by = PAGE_SIZE

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = context["filter"]
        valid = not filterset.is_bound or filterset.is_valid()
        chips = active_filters(filterset)
        context["chips"] = chips
        context["facets"] = facets_for(filterset) if valid else []
        context["ordering"] = filterset.ordering if valid else "newest"
        context["searching"] = valid and filterset.rankable
        if valid and chips and not context["object_list"]:
            context["loosen"] = loosening(filterset, chips)
        return context


class ReleaseListView(ArchiveListView):
    filterset_class = ReleaseFilter
    template_name = "statements/release_list.html"

    def get_queryset(self):
        return (
            Release.objects.published()
            .select_related("source")
            .prefetch_related("relayed_from")
            .annotate(position_count=position_count())
            .newest_first()
        )


class PositionListView(ArchiveListView):
    filterset_class = PositionFilter
    template_name = "statements/position_list.html"

    def get_queryset(self):
        return public_positions().newest_first()


class ReleaseDetailView(DetailView):
    template_name = "statements/release_detail.html"
    context_object_name = "release"

    def get(self, request, *args, **kwargs):
        public_id = kwargs["public_id"]
        withdrawn = Release.objects.withdrawn().filter(public_id=public_id).first()
        if withdrawn is not None:
            return render(
                request, "statements/release_withdrawn.html", {"release": withdrawn}, status=410
            )
        return super().get(request, *args, **kwargs)

    def get_object(self, queryset=None):
        return get_object_or_404(
            Release.objects.published()
            .select_related("source")
            .prefetch_related(
                "relayed_from",
                Prefetch("positions", queryset=Position.objects.prefetch_related("topics")),
            ),
            public_id=self.kwargs["public_id"],
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        positions = sorted(self.object.positions.all(), key=lambda p: (p.start, p.number))
        context["positions"] = positions
        hits = []
        query = self.request.GET.get("q", "")
        if query:
            # Highlight what the reader searched for, as the listing matched it.
            result = search.search(Release.objects.filter(pk=self.object.pk), query, rank=False)
            hits = search.match_spans(self.object.body, result.tokens, result.phrases)
            context["search"] = result
        context["runs"] = runs(self.object.body, positions, hits)
        return context


class TopicListView(ListView):
    template_name = "statements/topic_list.html"
    context_object_name = "topics"

    def get_queryset(self):
        return (
            Topic.objects.select_related("parent")
            .annotate(
                public_count=Count(
                    "positions", filter=Q(positions__in=Position.objects.published())
                )
            )
            .order_by("kind", "name_ar")
        )


class TopicDetailView(ListView):
    template_name = "statements/topic_detail.html"
    context_object_name = "positions"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        self.topic = get_object_or_404(
            Topic.objects.select_related("parent"), slug=self.kwargs["slug"]
        )
        self.topic_ids = self.topic.descendant_ids()
        return public_positions().filter(topics__in=self.topic_ids).distinct().newest_first()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["topic"] = self.topic
        context["children"] = self.topic.children.all()
        # Related: the topics most often recorded on the same public positions.
        on_topic = Position.objects.published().filter(topics__in=self.topic_ids)
        context["related"] = (
            Topic.objects.filter(positions__in=on_topic)
            .exclude(pk__in=self.topic_ids)
            .exclude(pk=self.topic.parent_id)
            .annotate(shared=Count("positions", distinct=True))
            .order_by("-shared", "name_ar")[:12]
        )
        # The timeline: positions of the page grouped by the year of their release.
        context["years"] = timeline(context["positions"])
        return context


def timeline(positions):
    """[(year or None, [positions])] in the order given (newest first; undated last)."""
    groups = []
    for position in positions:
        release = position.release
        known = release.published_on and release.published_precision != DatePrecision.UNKNOWN
        year = release.published_on.year if known else None
        if not groups or groups[-1][0] != year:
            groups.append((year, []))
        groups[-1][1].append(position)
    return groups


class SourceDetailView(ListView):
    template_name = "statements/source_detail.html"
    context_object_name = "releases"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        self.source = get_object_or_404(Source, slug=self.kwargs["slug"])
        return (
            Release.objects.published()
            .filter(Q(source=self.source) | Q(relayed_from=self.source))
            .distinct()
            .select_related("source")
            .annotate(position_count=position_count())
            .newest_first()
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["source"] = self.source
        return context


def healthz(request):
    """For load balancers: 200 when the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "database unavailable"}, status=503)
    return HttpResponse("ok", content_type="text/plain")
