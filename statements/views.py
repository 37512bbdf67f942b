"""Public pages: thin generic views over the published QuerySets."""

import json
import unicodedata
from contextlib import nullcontext

from django.conf import settings
from django.core.paginator import InvalidPage, Paginator
from django.db import connection
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import (
    Http404,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from django.views.generic import DetailView, ListView, TemplateView
from django_filters.views import FilterView

from . import citation, limits, listing, merging, search, versions
from . import counts as count_tables
from .facets import active_filters, facets_for, loosening, total, with_links
from .filters import (
    POSITION_NEWEST,
    RELEASE_NEWEST,
    PositionFilter,
    RelayLink,
    ReleaseFilter,
    topic_walk,
)
from .limits import PAGE_SIZE, RANKED_PAGES
from .models import SEARCH_COLUMNS, DatePrecision, Position, Release, Source, Topic, TopicEntry
from .paging import KeysetPage
from .passages import runs

# Results ranked by relevance are paged by number, up to RANKED_PAGES pages: past
# that, a reader refines the search or orders by date (keyset pages, no limit).
# (Read from this module at each request: tests lower it with monkeypatch.)


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
    """Listed positions: public ones, filtered and paged on their listing copies."""
    return (
        Position.objects.filter(is_public=True)
        .select_related("release", "release__source")
        .defer(*SEARCH_COLUMNS, "release__body", *(f"release__{c}" for c in SEARCH_COLUMNS))
        .prefetch_related("topics", "release__relayed_from")
    )


class KeysetMixin:
    """ListView paging: keyset pages (?after=, ?before=) for date orderings, numbered
    pages (bounded) for results ranked by relevance. ``result_count`` gives a function
    that counts the results (called only when a page shows the total)."""

    paginate_by = PAGE_SIZE

    def ordering_keys(self):
        return self.keys

    def result_count(self, queryset):
        return queryset.count

    def ranked_count(self):
        """The number of results ranked by relevance, if known without a query."""
        return None

    def walk(self):
        """How a keyset page can be read through a topic's listing entries
        (statements.paging.Walk), if it can."""
        return None

    def entry_walk(self):
        """:meth:`walk`, unless some listing entries lack the ordering (written by code
        older than migration 0020: see 0021), which a walk would leave out."""
        walk = self.walk()
        if walk is None or not listing.entries_ordered(listing.generation(self.request)):
            return None
        return walk

    def paginate_queryset(self, queryset, page_size):
        keys = self.ordering_keys()
        get = self.request.GET
        if keys is None:
            paginator = RankedPaginator(
                queryset, page_size, page_size * RANKED_PAGES, self.ranked_count()
            )
            number = get.get("page") or 1
            try:
                page = paginator.page(number)
            except InvalidPage:
                raise Http404(beyond_ranked_pages(number)) from None
            page.total = self.result_count(queryset)()
            page.keyset = False
            return paginator, page, page.object_list, page.has_other_pages()
        page = KeysetPage(
            queryset,
            keys,
            page_size,
            after=get.get("after"),
            before=get.get("before"),
            count=self.result_count(queryset),
            walk=self.entry_walk(),
        )
        return None, page, page.object_list, page.paginated


class RankedPaginator(Paginator):
    """Numbered pages of the first ``bound`` results ranked by relevance. Their number is
    counted on the record keys alone: counting the ranked, annotated query would score
    every match once more."""

    def __init__(self, queryset, per_page, bound, known=None):
        super().__init__(queryset[:bound], per_page)
        self.unsliced, self.bound, self.known = queryset, bound, known

    @cached_property
    def count(self):
        if self.known is not None:
            return min(self.known, self.bound)
        return len(self.unsliced.order_by().values_list("pk", flat=True)[: self.bound])


def beyond_ranked_pages(number):
    """Why page ``number`` of a ranked listing does not exist, for the 404 page."""
    try:
        beyond = int(number) > RANKED_PAGES
    except (TypeError, ValueError):
        beyond = False
    if beyond:
        return _(
            "Results ranked by relevance are shown on at most %(pages)d pages; order them "
            "by date to page through all of them, or refine your search."
        ) % {"pages": RANKED_PAGES}
    return _("This page of results does not exist.")


class SharedCopyMixin:
    """A page readers ask for alike and that costs more than reading a copy: kept for the
    next reader (statements.middleware.ConditionalGetMiddleware decides whether it may
    be: anonymous, nothing of the reader in it)."""

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        response.shared_copy = True
        return response


class HomeView(SharedCopyMixin, TemplateView):
    template_name = "statements/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["latest_releases"] = (
            Release.objects.published()
            .select_related("source")
            .annotate(position_count=position_count())
            .newest_first()[:8]
        )
        counts = listing.cached(["home"], home_counts, current=listing.generation(self.request))
        context["topics"] = counted_topics(counts["topics"], "public_count")
        context["counts"] = counts
        return context


def counted_topics(counts, attribute):
    """The topics of ``counts`` ({pk: n}), each with its n as ``attribute``, most first."""
    topics = Topic.objects.in_bulk(counts).values()
    for topic in topics:
        setattr(topic, attribute, counts[topic.pk])
    return sorted(topics, key=lambda t: (-counts[t.pk], t.name_ar))


def topic_counts():
    """{topic pk: number of public positions recorded on it}, most recorded first (from
    the count tables: statements.counts)."""
    by_topic = count_tables.pairs()
    return dict(sorted(by_topic.items(), key=lambda item: (-item[1], item[0])))


def home_counts():
    return {
        "releases": count_tables.lookup("r", {}),
        "positions": count_tables.lookup("p", {}),
        "topics": dict(list(topic_counts().items())[:16]),
    }


class ArchiveListView(SharedCopyMixin, KeysetMixin, FilterView):
    """A filtered listing with its facet counts, active-filter chips and ordering."""

    def ordering_keys(self):
        filterset = self.filterset
        if filterset.is_bound and not filterset.is_valid():
            return filterset.newest_first
        filterset.qs  # noqa: B018 - runs the filters, which say how they order
        return filterset.keys

    def ranked_count(self):
        return self.filterset.ranked_count

    def walk(self):
        filterset = self.filterset
        if filterset.is_bound and not filterset.is_valid():
            return None
        filterset.qs  # noqa: B018 - runs the filters, which say how they order
        return filterset.walk()

    def result_count(self, queryset):
        filterset = self.filterset
        if filterset.is_bound and not filterset.is_valid():
            return queryset.count
        filterset.qs  # noqa: B018 - runs the filters, which say whether a search is broad
        if filterset.broad:
            return lambda: None  # "more than limits.BROAD_SEARCH"; not counted
        if filterset.match_count is not None:  # the results (a search's, or a few) read already
            return lambda: filterset.match_count
        return lambda: total(filterset, self.generation)

    def get(self, request, *args, **kwargs):
        self.generation = listing.generation(request)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = context["filter"]
        valid = not filterset.is_bound or filterset.is_valid()
        chips = active_filters(filterset)
        context["chips"] = chips
        broad = valid and filterset.broad
        context["broad"], context["broad_limit"] = broad, limits.BROAD_SEARCH
        # A broad search's facets would count every match: not shown (limits.BROAD_SEARCH).
        shown = []
        if valid and not broad:
            # A search's facets are counted over its matches: found through the index.
            searched = filterset.search_result is not None
            with search.plans(using=filterset.queryset.db) if searched else nullcontext():
                shown = facets_for(filterset, self.generation)
        context["facets"] = with_links(shown, self.request.GET)
        # The same filters, without paging (and, for a feed, without ordering: newest first).
        query = self.request.GET.copy()
        for param in ("page", "after", "before"):
            query.pop(param, None)
        exported = f"?{query.urlencode()}" if query else ""
        query.pop("o", None)
        context["feed_url"] = reverse(self.feed_name) + (f"?{query.urlencode()}" if query else "")
        context["export_urls"] = [
            (label, reverse("statements:export", args=[self.listing_name, fmt]) + exported)
            for label, fmt in (("CSV", "csv"), ("JSON", "json"))
        ]
        context["ordering"] = filterset.ordering if valid else "newest"
        context["searching"] = valid and filterset.rankable
        if valid and chips and not context["object_list"]:
            context["loosen"] = loosening(filterset, chips)
        return context


class ReleaseListView(ArchiveListView):
    filterset_class = ReleaseFilter
    listing_name, feed_name = "releases", "statements:release-feed"
    template_name = "statements/release_list.html"

    def get_queryset(self):
        return (
            Release.objects.published()
            .select_related("source")
            .defer(*SEARCH_COLUMNS)
            .prefetch_related("relayed_from")
            .annotate(position_count=position_count())
        )


class PositionListView(ArchiveListView):
    filterset_class = PositionFilter
    listing_name, feed_name = "positions", "statements:position-feed"
    template_name = "statements/position_list.html"

    def get_queryset(self):
        return public_positions()


def citations(request, release, version, positions):
    """The citation box and page metadata of a release page (current or pinned)."""
    base = citation.base_url(request)
    cited = citation.cite(release, version, base)
    for position in positions:
        position.citation = citation.cite(release, version, base, position)
    return {
        "citation": cited,
        "citation_meta": citation.meta_tags(cited),
        "json_ld": citation.json_ld(cited, release, positions),
    }


CITATION_FORMATS = {
    "bib": ("application/x-bibtex; charset=utf-8", citation.bibtex),
    "ris": ("application/x-research-info-systems; charset=utf-8", citation.ris),
    "json": (
        "application/vnd.citationstyles.csl+json; charset=utf-8",
        lambda cited: json.dumps([citation.csl(cited)], ensure_ascii=False, indent=2),
    ),
}


def citation_download(request, public_id, fmt):
    """``/r/<id>/cite.<bib|ris|json>``: the citation of the release (``?p=`` one position,
    ``?v=`` one version; the latest by default), as a file."""
    release = public_or_gone(public_id)
    if release.status == Release.Status.MERGED:
        kept = merging.final_target(release)
        url = reverse("statements:release-citation", args=[kept.public_id, fmt])
        mapped = merging.passage_map(release).get(request.GET.get("p", ""))
        return HttpResponsePermanentRedirect(url + (f"?p={mapped}" if mapped else ""))
    content_type, render_format = CITATION_FORMATS[fmt]
    try:
        number = int(request.GET["v"]) if request.GET.get("v") else None
        position_number = int(request.GET["p"]) if request.GET.get("p") else None
    except ValueError:
        raise Http404(_("No such version or position.")) from None
    version = release.versions.filter(number=number).first() if number else release.latest_version()
    if number and version is None:
        raise Http404(_("No such version or position."))
    shown, position = release, None
    if version is not None:
        shown, _relays, positions = versions.rebuild(release, version.snapshot)
    else:
        positions = list(release.positions.filter(orphaned=False))
    if position_number is not None:
        position = next((p for p in positions if p.number == position_number), None)
        if position is None:
            raise Http404(_("No such version or position."))
    cited = citation.cite(shown, version, citation.base_url(request), position)
    response = HttpResponse(render_format(cited), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{cited.key}.{fmt}"'
    return response


def to_kept(duplicate):
    """301 from a merged duplicate to the release it leads to, naming the duplicate (the
    kept page then maps the duplicate's passage numbers)."""
    kept = merging.final_target(duplicate)
    return HttpResponsePermanentRedirect(f"{kept.get_absolute_url()}?merged={duplicate.public_id}")


def merged_banner(request, release):
    """For ``?merged=<id>``: the duplicate the reader's link named, and where its passages
    are in this release (when that duplicate really leads here)."""
    try:
        public_id = int(request.GET.get("merged", ""))
    except ValueError:
        return None
    duplicate = Release.objects.filter(public_id=public_id, status=Release.Status.MERGED).first()
    if duplicate is None or merging.final_target(duplicate).pk != release.pk:
        return None
    mapping = merging.passage_map(duplicate)
    return {
        "public_id": public_id,
        "passages": sorted((int(old), new) for old, new in mapping.items()),
        "map_json": json.dumps({f"p{old}": f"p{new}" for old, new in mapping.items()}),
    }


def public_or_gone(public_id):
    """A release that is or was public (published, withdrawn or merged), or 404."""
    return get_object_or_404(
        Release.objects.select_related("source").filter(
            status__in=[Release.Status.PUBLISHED, Release.Status.WITHDRAWN, Release.Status.MERGED]
        ),
        public_id=public_id,
    )


def release_slug(request, public_id, slug):
    """``/r/<id>/<any slug>/``: pretty URLs, old and new, lead to the one permalink."""
    release = public_or_gone(public_id)
    return HttpResponsePermanentRedirect(release.get_absolute_url())


def passage(request, public_id, number):
    """``/r/<id>/p/<n>/``: a passage's permalink as a path (servers see it; #p<n> they do not);
    a merged duplicate's passage leads to the same passage in the release kept."""
    release = public_or_gone(public_id)
    if release.status == Release.Status.MERGED:
        mapped = merging.passage_map(release).get(str(number))
        if mapped is None:
            return to_kept(release)
        # Already the kept release's number: no ?merged= (its map would move it again).
        kept = merging.final_target(release)
        return HttpResponsePermanentRedirect(f"{kept.get_absolute_url()}#p{mapped}")
    return HttpResponsePermanentRedirect(f"{release.get_absolute_url()}#p{number}")


def tombstone(request, release):
    """A withdrawn release's permalink: 410 Gone, with its citation data and the reason."""
    version = release.latest_version()
    cited = citation.cite(release, version, citation.base_url(request))
    context = {"release": release, "version": version, "citation": cited}
    return render(request, "statements/release_withdrawn.html", context, status=410)


class ReleaseDetailView(DetailView):
    template_name = "statements/release_detail.html"
    context_object_name = "release"

    def get(self, request, *args, **kwargs):
        public_id = kwargs["public_id"]
        gone = (
            Release.objects.filter(public_id=public_id)
            .filter(status__in=[Release.Status.WITHDRAWN, Release.Status.MERGED])
            .first()
        )
        if gone is not None and gone.status == Release.Status.MERGED:
            return to_kept(gone)
        if gone is not None:
            return tombstone(request, gone)
        return super().get(request, *args, **kwargs)

    def get_object(self, queryset=None):
        return get_object_or_404(
            Release.objects.published()
            .select_related("source")
            .prefetch_related(
                "relayed_from",
                Prefetch(
                    "positions",
                    # An orphaned position has no passage in the text (statements.anchoring).
                    queryset=Position.objects.filter(orphaned=False).prefetch_related("topics"),
                ),
            ),
            public_id=self.kwargs["public_id"],
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        positions = sorted(self.object.positions.all(), key=lambda p: (p.start, p.number))
        for position in positions:
            position.topic_list = list(position.topics.all())
        context["positions"] = positions
        context["relays"] = self.object.relay_list = list(self.object.relayed_from.all())
        context["version"] = self.object.latest_version()
        context.update(citations(self.request, self.object, context["version"], positions))
        context["merged"] = merged_banner(self.request, self.object)
        hits = []
        query = self.request.GET.get("q", "")
        if query:
            # Highlight what the reader searched for, as the listing matched it.
            result = search.search(Release.objects.filter(pk=self.object.pk), query, rank=False)
            hits = search.match_spans(self.object.body, result.tokens, result.phrases)
            context["search"] = result
        context["runs"] = runs(self.object.body, positions, hits)
        return context


class ReleaseVersionView(TemplateView):
    """``/r/<id>/v/<n>/``: the release exactly as version n showed it."""

    template_name = "statements/release_detail.html"

    def get(self, request, *args, **kwargs):
        release = public_or_gone(kwargs["public_id"])
        if release.status == Release.Status.MERGED:
            return to_kept(release)
        if release.status == Release.Status.WITHDRAWN:
            return tombstone(request, release)
        self.release = release
        self.version = get_object_or_404(release.versions, number=kwargs["number"])
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        shown, relays, positions = versions.rebuild(self.release, self.version.snapshot)
        later = list(self.release.versions.filter(number__gt=self.version.number))
        context.update(
            release=shown,
            relays=relays,
            positions=sorted(positions, key=lambda p: (p.start, p.number)),
            runs=runs(shown.body, positions),
            version=self.version,
            pinned=True,
            latest=later[-1] if later else self.version,
            changes_since=[(v, [versions.describe(c) for c in v.changes]) for v in later],
        )
        context.update(citations(self.request, shown, self.version, positions))
        return context


class ReleaseChangesView(TemplateView):
    """``/r/<id>/changes/``: the public change log of a release."""

    template_name = "statements/release_changes.html"

    def get(self, request, *args, **kwargs):
        release = public_or_gone(kwargs["public_id"])
        if release.status == Release.Status.MERGED:
            kept = merging.final_target(release)
            return HttpResponsePermanentRedirect(
                reverse("statements:release-changes", args=[kept.public_id])
            )
        self.release = release
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        history = list(self.release.versions.order_by("-number"))
        context["release"] = self.release
        context["history"] = [(v, [versions.describe(c) for c in v.changes]) for v in history]
        return context


class TopicListView(SharedCopyMixin, ListView):
    template_name = "statements/topic_list.html"
    context_object_name = "topics"

    def get_queryset(self):
        topics = list(Topic.objects.select_related("parent").order_by("kind", "name_ar"))
        counts = listing.cached(["topics"], topic_counts, current=listing.generation(self.request))
        for topic in topics:
            topic.public_count = counts.get(topic.pk, 0)
        return topics


class TopicDetailView(SharedCopyMixin, KeysetMixin, ListView):
    template_name = "statements/topic_detail.html"
    context_object_name = "positions"
    keys = POSITION_NEWEST

    def get_queryset(self):
        self.topic = get_object_or_404(
            Topic.objects.select_related("parent"), slug=self.kwargs["slug"]
        )
        self.topic_ids = self.topic.descendant_ids()
        self.entries = TopicEntry.objects.filter(topic__in=self.topic_ids, is_public=True)
        return public_positions().filter(pk__in=self.entries.values("position"))

    def walk(self):
        # Its pages walk the entries of the topic and of each narrower one.
        return topic_walk(self.topic_ids, public_positions())

    def result_count(self, queryset):
        # Positions under the topic (each once), from the count tables.
        return lambda: listing.cached(
            ["topic", self.topic.pk],
            lambda: count_tables.lookup("p", {"topic": self.topic.pk}),
            current=listing.generation(self.request),
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["topic"] = self.topic
        context["children"] = self.topic.children.all()
        # Related: the topics most often recorded on the same public positions.
        shared = listing.cached(
            ["related", self.topic.pk],
            self.related_counts,
            current=listing.generation(self.request),
        )
        context["related"] = counted_topics(dict(shared), "shared")
        # The timeline: positions of the page grouped by the year of their release.
        context["years"] = timeline(context["positions"])
        return context

    def related_counts(self):
        """[(topic pk, shared positions)]: the 12 topics most often on the same positions
        (positions under this topic, counted once per topic recorded on them), from the
        count tables."""
        excluded = {*self.topic_ids, self.topic.parent_id}
        shared = count_tables.pairs(self.topic.pk)
        rows = sorted(
            ((pk, n) for pk, n in shared.items() if pk not in excluded),
            key=lambda row: (-row[1], row[0]),
        )
        return rows[:12]


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


class SourceDetailView(KeysetMixin, ListView):
    template_name = "statements/source_detail.html"
    context_object_name = "releases"
    keys = RELEASE_NEWEST

    def get_queryset(self):
        self.source = get_object_or_404(Source, slug=self.kwargs["slug"])
        relayed = RelayLink.objects.filter(source=self.source).values("release")
        return (
            Release.objects.published()
            .filter(Q(source=self.source) | Q(pk__in=relayed))
            .select_related("source")
            .prefetch_related("relayed_from")
            .annotate(position_count=position_count())
        )

    def result_count(self, queryset):
        return lambda: listing.cached(
            ["source", self.source.pk], queryset.count, current=listing.generation(self.request)
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["source"] = self.source
        return context


def _a_path_here(value):
    """Whether ``value`` is a path on this site ("/releases/?q=…", however long: a long
    search's address is one), never another site's ("//host", "/\\host", a scheme) nor
    anything with a control character."""
    return (
        value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value)
    )


@require_safe
def switch_language(request, code):
    """The interface language a reader chose with the switch in every page's header: kept
    in a cookie (ChosenLanguageMiddleware reads it), then back to the page.

    A link, not a form: a form posted here would need the reader's CSRF token in every
    page, and a page that carries something of its reader cannot be kept by a shared
    cache (the README's "cache in front") or served to another reader from this one's
    (statements.middleware.ConditionalGetMiddleware). Choosing a language changes
    nothing but the language of the pages the reader is sent."""
    if code not in dict(settings.LANGUAGES):
        raise Http404("no such language")
    back = request.GET.get("next", "")
    if not _a_path_here(back):
        back = reverse("statements:home")
    response = HttpResponseRedirect(back)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    patch_cache_control(response, no_store=True)
    return response


def healthz(request):
    """For load balancers: 200 when the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "database unavailable"}, status=503)
    return HttpResponse("ok", content_type="text/plain")
