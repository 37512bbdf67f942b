"""The public listings' derived data, kept in sync in one place.

At the archive's target size (100,000 releases, 800,000 positions;
``../shared/docs/performance.md``), a listing that joins positions to releases
to filter, counts with a ``GROUP BY`` per facet and pages with ``OFFSET``
costs about a second per page. So:

* each position carries copies of its release's public state, date,
  identifier, source and issuing body, and each (position, topic) pair is a
  :class:`~statements.models.TopicEntry` row with the same copies: a listing
  filters and pages over one table;
* :func:`refresh` writes those copies for some releases (or all), with
  set-based SQL, inside the caller's transaction. It is called by
  ``Release.save``, ``Position.save`` and the signal handlers of
  statements.signals (topics added or removed, positions deleted), the only
  paths that change what the copies copy; :func:`drift` says whether anything
  is out of step, and the tests call it after every kind of edit;
* counts (facets, totals) are cached under the :func:`generation` number,
  which every public change moves on (:func:`changed`): a reader never gets a
  count from before a publication, and repeated views of a listing cost no
  ``GROUP BY`` at all.
"""

import hashlib
import json

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import BooleanField, Case, F, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from . import counts, versions
from .models import ListingGeneration, Position, Release, TopicEntry

CACHE_SECONDS = 3600  # a safety net: a new generation replaces the counts anyway


def refresh(release_ids=None, *, record_versions=True, recount=True):
    """Rewrite the listing copies of the positions of ``release_ids`` (all when None).

    Their public versions are recorded when the transaction commits, unless the caller
    writes them itself (``record_versions=False``: statements.corpus, in bulk). With
    ``recount=False`` the count tables are left as they were: the caller rebuilds them
    (statements.corpus, loading more than the archive holds)."""
    with transaction.atomic():
        positions = Position.objects.all()
        if release_ids is not None:
            release_ids = list(release_ids)
            positions = positions.filter(release_id__in=release_ids)
        release = Release.objects.filter(pk=OuterRef("release_id"))
        positions.update(
            # An orphaned position has no passage in the text: never shown to readers.
            is_public=Case(
                When(orphaned=True, then=Value(False)),
                default=Subquery(_is_public(release)),
                output_field=BooleanField(),
            ),
            release_date=Subquery(release.values("published_on")[:1]),
            release_precision=Subquery(release.values("published_precision")[:1]),
            release_public_id=Subquery(release.values("public_id")[:1]),
            release_source=Subquery(release.values("source_id")[:1]),
            issuing_body=Subquery(release.values("issuing_body")[:1]),
        )
        entries = TopicEntry.objects.all()
        if release_ids is not None:
            entries = entries.filter(release_id__in=release_ids)
        entries.delete()  # no signals or relations: one DELETE
        _insert_entries(release_ids)
        _fill_ordering()
        if recount and release_ids is None:
            counts.rebuild()
        elif recount:
            counts.recount(release_ids)
        changed()
        for release_id in (release_ids or ()) if record_versions else ():
            versions.note_change(release_id)


def _is_public(release):
    return release.annotate(
        public=Case(
            When(status=Release.Status.PUBLISHED, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    ).values("public")[:1]


def _insert_entries(release_ids):
    entry = TopicEntry._meta
    link = Position.topics.through._meta
    position = Position._meta.db_table
    where, params = "", []
    if release_ids is not None:
        if not release_ids:
            return
        where = f"WHERE p.release_id IN ({', '.join(['%s'] * len(release_ids))})"
        params = release_ids
    columns = (
        "position_id, topic_id, release_id, stance, release_date, release_precision, "
        "release_source_id, release_public_id, number, issuing_body, is_public"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {entry.db_table} ({columns}) "  # noqa: S608 - names from the models
            f"SELECT l.position_id, l.topic_id, p.release_id, p.stance, p.release_date, "
            f"p.release_precision, p.release_source_id, p.release_public_id, p.number, "
            f"p.issuing_body, p.is_public "
            f"FROM {link.db_table} l JOIN {position} p ON p.id = l.position_id {where}",
            params,
        )


UNORDERED = Q(number=None) | Q(release_public_id=None)


def _fill_ordering():
    """Give entries written without the listing's ordering (by code older than migration
    0020, serving while it ran) their positions' keys: none, normally (one look at an empty
    index)."""
    position = Position.objects.filter(pk=OuterRef("position_id")).order_by()
    TopicEntry.objects.filter(UNORDERED).update(
        release_public_id=Subquery(position.values("release_public_id")[:1]),
        number=Subquery(position.values("number")[:1]),
    )


def entries_ordered(current=None):
    """Whether every listing entry carries the listing's ordering, so that a page can walk
    them (statements.paging.Walk): checked once per generation, which every edit moves on
    (older code's too), on an index of the entries without it."""
    return cached(
        ["entries ordered"],
        lambda: not TopicEntry.objects.filter(UNORDERED).exists(),
        current=current,
    )


def changed():
    """Say that something public changed: cached counts are not used again, and readers'
    cached pages are not either (statements.middleware.ConditionalGetMiddleware)."""
    now = timezone.now()
    updated = ListingGeneration.objects.filter(pk=1).update(value=F("value") + 1, changed_at=now)
    if not updated:
        ListingGeneration.objects.get_or_create(pk=1, defaults={"changed_at": now})


def state():
    """(generation, when it last changed): what cached counts and readers' validators derive
    from."""
    row = ListingGeneration.objects.filter(pk=1).values_list("value", "changed_at").first()
    return row or (0, None)


def generation(request=None):
    """The current generation; read once per request (the readers' conditional-GET
    middleware reads it first and keeps it on the request)."""
    if request is not None and hasattr(request, "archive_state"):
        return request.archive_state[0]
    return state()[0]


def cached(parts, compute, *, current=None):
    """``compute()``, cached under ``parts`` (JSON-able) for the current generation."""
    current = generation() if current is None else current
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    key = f"listing:{current}:{digest}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


ENTRY_FIELDS = (
    "position",
    "topic",
    "release",
    "stance",
    "release_date",
    "release_precision",
    "release_source",
    "release_public_id",
    "number",
    "issuing_body",
    "is_public",
)
COPIED = {
    "release_date": "release__published_on",
    "release_precision": "release__published_precision",
    "release_public_id": "release__public_id",
    "release_source": "release__source",
    "issuing_body": "release__issuing_body",
}


def drift(limit=None, releases=None):
    """What is out of step between the records and their listing copies (empty: nothing).

    Streams both sides in key order (a merge), so it runs in constant memory on an
    archive of any size; stops after ``limit`` problems when given. With ``releases``
    (ids), only what edits of those releases can have put out of step
    (:func:`statements.counts.drift`).
    """
    problems = []

    def report(problem):
        problems.append(problem)
        return limit is not None and len(problems) >= limit

    positions, entries = Position.objects.all(), TopicEntry.objects.all()
    links = Position.topics.through.objects.all()
    if releases is not None:
        positions = positions.filter(release_id__in=releases)
        entries = entries.filter(release_id__in=releases)
        links = links.filter(position__release_id__in=releases)
    rows = positions.order_by("pk").values_list(
        "pk", "is_public", "release__status", "orphaned", *COPIED, *COPIED.values()
    )
    n = len(COPIED)
    for row in rows.iterator(chunk_size=2000):
        pk, is_public, status, orphaned = row[:4]
        if is_public != (status == Release.Status.PUBLISHED and not orphaned):
            if report(f"position {pk}: is_public {is_public} for a {status} release"):
                return problems
        for name, mine, theirs in zip(COPIED, row[4 : 4 + n], row[4 + n :], strict=True):
            if mine != theirs and report(f"position {pk}: {name} {mine!r} != {theirs!r}"):
                return problems
    expected = (
        links.order_by("position", "topic")
        .values_list(
            "position",
            "topic",
            "position__release",
            *(f"position__{name}" for name in ENTRY_FIELDS[3:]),
        )
        .iterator(chunk_size=2000)
    )
    actual = (
        entries.order_by("position", "topic").values_list(*ENTRY_FIELDS).iterator(chunk_size=2000)
    )
    want, have = next(expected, None), next(actual, None)
    while want is not None or have is not None:
        if have is None or (want is not None and want[:2] < have[:2]):
            problem, want = f"missing listing entry {want}", next(expected, None)
        elif want is None or have[:2] < want[:2]:
            problem, have = f"stale listing entry {have}", next(actual, None)
        else:
            problem = None if want == have else f"listing entry {have} should be {want}"
            want, have = next(expected, None), next(actual, None)
        if problem and report(problem):
            return problems
    for problem in counts.drift(limit=limit or 20, releases=releases):
        if report(f"facet counts: {problem}"):
            return problems
    return problems
