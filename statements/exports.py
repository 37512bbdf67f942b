"""Open data: any filtered listing as CSV or JSON (streamed), and as an Atom feed.

The filters are the listing's own (statements.filters), read from the same
query string, so ``/positions/?place=syria`` becomes
``/positions/export.csv?place=syria``. Exports stream every matching row in
chunks, so a large export never holds the archive in memory; they have no row
cap, on purpose (statements.limits says why). Positions carry their exact quote
next to its offsets: a reader can check ``body[start:end]``.

An export survives a database restart or failover: it waits for the database and goes
on from the last row it sent (:func:`rows_of`).

At most ``settings.EXPORT_SLOTS`` exports stream at once (:class:`Slot`); one more
is answered 503 with ``Retry-After``, its page saying so in words, before any query.

Each chunk's topics and relays are read with one query each into plain
dictionaries of slugs, not with ``prefetch_related``: a prefetched manager
refers back to its instance, and those reference cycles outlive their chunk
until a full garbage collection, which let a 100,000-row export hold ~100 MB of
dead chunks (measured with tracemalloc; bench/RESULTS.md).
"""

import json
import logging
import secrets
import time
from collections import defaultdict
from itertools import chain, islice

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.core.cache import caches
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from . import citation
from .dates import iso_partial_date
from .filters import PositionFilter, ReleaseFilter, by_keys
from .limits import EXPORT_CHUNK, FEED_ITEMS
from .models import Position, Release
from .paging import rows_after

CHUNK = EXPORT_CHUNK  # read at each export: tests lower it
logger = logging.getLogger(__name__)


def releases():
    return (
        Release.objects.published().select_related("source").defer("search_tokens", "search_folded")
    )


def positions():
    return (
        Position.objects.filter(is_public=True)
        .select_related("release", "release__source")
        .defer(
            "search_tokens",
            "search_folded",
            "release__body",  # a position's row has its quote, not the whole text
            "release__search_tokens",
            "release__search_folded",
        )
    )


# What a position's row reads from its own table; its release's part is read once per
# release (release_parts), not once per position. The ordering's keys are among them,
# so that an export can go on after the last row it sent (rows_of).
POSITION_COLUMNS = (
    "pk", "release_id", "number", "stance", "summary", "attribution", "quote", "start", "end",
    "release_date", "release_public_id",
)  # fmt: skip


LISTINGS = {"releases": (ReleaseFilter, releases), "positions": (PositionFilter, positions)}


def filtered(request, listing):
    """The listing's filterset, valid; InvalidFilters if a filter value is not."""
    filterset_class, queryset = LISTINGS[listing]
    filterset = filterset_class(request.GET or None, queryset=queryset(), request=request)
    filterset.bounded = False  # an export has every match of a search, however broad
    if not filterset.is_valid():
        errors = "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in filterset.errors.items()
        )
        raise InvalidFilters(errors)
    return filterset


class InvalidFilters(Exception):
    def response(self):
        message = _("Some filter values are not valid: %(errors)s") % {"errors": self}
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


def _slugs(relation, owner, target, ids):
    """``{owner id: [target slug, ...]}`` for ``ids`` through the many-to-many
    ``relation``, in the target model's own order (what ``.all()`` gives)."""
    found = defaultdict(list)
    ordering = relation.field.related_model._meta.ordering
    rows = (
        by_keys(relation.through.objects.all(), ids, owner)
        .order_by(*(f"{target}__{field}" for field in ordering))
        .values_list(f"{owner}_id", f"{target}__slug")
    )
    for owner_id, slug in rows:
        found[owner_id].append(slug)
    return found


def _relays(release_ids):
    return _slugs(Release.relayed_from, "release", "source", release_ids)


# What a release's row reads, as plain values (a model instance, its source's and a
# reverse() for each cost more than writing the row). The orderings' keys are among them,
# so that an export can go on after the last row it sent (rows_of).
RELEASE_COLUMNS = (
    "pk", "public_id", "title", "dateline", "source__slug", "source__name", "issuing_body",
    "published_on", "published_precision", "published_inferred", "statement_on",
    "statement_precision", "url", "archived_url", "body_sha256", "body",
)  # fmt: skip


def release_related(releases, base):
    return {"relays": _relays({r.pk for r in releases}), "labels": release_labels()}


def release_parts(release_ids, base, labels):
    """``{release id: the columns a position's row takes from its release}``, read as
    plain values: a topic's positions are spread over as many releases, so a model
    instance, a reverse() and a translated title for each cost more than the rows.
    ``labels``: :func:`release_labels`."""
    rows = by_keys(Release.objects.all(), release_ids).values_list(
        "pk", "public_id", "title", "dateline", "issuing_body", "published_on",
        "published_precision", "body_sha256", "source__slug",
    )  # fmt: skip
    url, bodies = labels
    parts = {}
    for pk, public_id, title, dateline, body, published_on, precision, sha256, source in rows:
        parts[pk] = {
            "release_public_id": public_id,
            "permalink": base + url.replace(URL_SENTINEL, str(public_id)),
            "release_title": Release.titled(title, dateline, label(bodies, body)),
            "source": source,
            "issuing_body": body,
            "published": iso_partial_date(published_on, precision),
            "published_precision": precision,
            "text_sha256": sha256,
        }
    return parts


URL_SENTINEL = "918273645"  # a public identifier in a reversed URL, replaced by each's


def release_labels():
    """What every position row's release part shares: its permalink's pattern and each
    issuing body's label, in the active language, computed once per chunk."""
    url = reverse("statements:release-detail", kwargs={"public_id": int(URL_SENTINEL)})
    assert url.count(URL_SENTINEL) == 1
    return url, {body: Release.body_label(body) for body in Release.IssuingBody.values}


def label(bodies, body):
    """An issuing body's label from :func:`release_labels`'s (one outside the choices:
    its own, as Release.body_label says)."""
    found = bodies.get(body)
    return Release.body_label(body) if found is None else found


def position_related(positions, base):
    release_ids = {p.release_id for p in positions}
    return {
        "topics": _slugs(Position.topics, "position", "topic", [p.pk for p in positions]),
        "relays": _relays(release_ids),
        "releases": release_parts(release_ids, base, release_labels()),
    }


def release_row(release, base, related):
    """``release``: a row of RELEASE_COLUMNS."""
    relays = related["relays"].get(release.pk, [])
    url, bodies = related["labels"]
    return {
        "public_id": release.public_id,
        "permalink": base + url.replace(URL_SENTINEL, str(release.public_id)),
        "title": release.title,
        "display_title": Release.titled(
            release.title, release.dateline, label(bodies, release.issuing_body)
        ),
        "dateline": release.dateline,
        "source": release.source__slug,
        "source_name": release.source__name,
        "relayed_from": relays,
        "issuing_body": release.issuing_body,
        "published": iso_partial_date(release.published_on, release.published_precision),
        "published_precision": release.published_precision,
        "published_inferred": release.published_inferred,
        "statement_date": iso_partial_date(release.statement_on, release.statement_precision),
        "statement_precision": release.statement_precision,
        "url": release.url,
        "archived_url": release.archived_url,
        "text_sha256": release.body_sha256,
        "body": release.body,
    }


def position_row(position, base, related):
    """``position``: a row of POSITION_COLUMNS."""
    release = related["releases"][position.release_id]
    return {
        "release_public_id": release["release_public_id"],
        "number": position.number,
        "permalink": f"{release['permalink']}#p{position.number}",
        "stance": position.stance,
        "topics": related["topics"].get(position.pk, []),
        "summary": position.summary,
        "attribution": position.attribution,
        "quote": position.quote,
        "start": position.start,
        "end": position.end,
        "release_title": release["release_title"],
        "source": release["source"],
        "relayed_from": related["relays"].get(position.release_id, []),
        "issuing_body": release["issuing_body"],
        "published": release["published"],
        "published_precision": release["published_precision"],
        "text_sha256": release["text_sha256"],
    }


ROWS = {
    "releases": (
        release_row,
        release_related,
        lambda queryset: queryset.values_list(*RELEASE_COLUMNS, named=True),
    ),
    "positions": (
        position_row,
        position_related,
        lambda queryset: queryset.values_list(*POSITION_COLUMNS, named=True),
    ),
}


def rows_of(queryset, listing, base, keys=None):
    """Every row of ``queryset``, read and completed CHUNK records at a time.

    A chunk is sent only once it is read whole, with its topics and relays (and, for
    positions, their releases' part: statements.exports.release_parts). If the
    database connection is lost meanwhile (a restart, a failover) and the export is in
    a keyed order (``keys``: the listing's, statements.paging), it waits up to
    ``settings.EXPORT_RESUME_SECONDS`` (0: not at all) for the database and reads on
    after the last row it sent: no row is sent twice or left out, unless a record's
    date is edited during the outage (which moves it across that row). An export
    ranked by relevance has no such place to go on from: it is cut off, as is one whose
    database does not come back in time, and a cut-off download never looks complete
    (its chunked body has no end).
    """
    to_row, related_of, shape = ROWS[listing]
    queryset = shape(queryset)
    with OneSnapshot(queryset.db) as snapshot:
        records, last, resumed = queryset.iterator(chunk_size=CHUNK), None, 0
        while True:
            try:
                snapshot.begin()  # (at first, and on a connection opened again)
                chunk = list(islice(records, CHUNK))
                related = related_of(chunk, base) if chunk else None
            except (OperationalError, InterfaceError):
                if (
                    keys is None
                    or settings.EXPORT_RESUME_SECONDS <= 0
                    or resumed >= MAX_RESUMES
                    or not _reconnected(queryset.db)
                ):
                    raise
                resumed += 1
                logger.warning("Export resumed after a lost database connection (%s)", resumed)
                if last is None:
                    records = queryset.iterator(chunk_size=CHUNK)
                else:
                    phases = rows_after(queryset, keys, last)
                    records = chain.from_iterable(p.iterator(chunk_size=CHUNK) for p in phases)
                continue
            if not chunk:
                return
            for record in chunk:
                yield to_row(record, base, related)
            last = chunk[-1]


class OneSnapshot:
    """An export read in one transaction of its own on PostgreSQL.

    In autocommit mode Django declares its server-side cursor WITH HOLD, and PostgreSQL
    then writes the whole result to a temporary file before the first row is sent: the
    bodies of a topic's releases, 111 MB, written to disk and read back for each export
    (``log_temp_files``; bench/RESULTS.md, twelfth run). In a transaction the cursor is
    read as it is sent, from one snapshot. The transaction only reads, and is rolled
    back at the end, however the export ends; its connection is given back in autocommit
    mode (or closed if it was lost), as the next request expects. Inside a transaction
    already (an atomic block), or on SQLite, nothing changes.

    A server with ``idle_in_transaction_session_timeout`` set would end an export whose
    client reads slower than that: leave it unset (PostgreSQL's default) for this role.
    """

    def __init__(self, alias):
        self.connection = connections[alias]
        self.own = None  # known at the first begin(), where a lost connection is resumed

    def begin(self):
        """Leave autocommit mode, if this export reads in a transaction of its own and its
        connection is in it (a lost connection opened again is)."""
        if self.own is None:
            self.own = self.connection.vendor == "postgresql" and self.connection.get_autocommit()
        if self.own and self.connection.get_autocommit():
            self.connection.set_autocommit(False)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if not self.own:
            return
        connection = self.connection
        try:
            if connection.connection is not None and connection.is_usable():
                connection.rollback()
                connection.set_autocommit(True)
                return
        except DatabaseError:
            pass  # it went meanwhile: dropped below, as a lost one is
        connection.close()


MAX_RESUMES = 5  # per export: a database that keeps failing cuts it off


def _reconnected(alias):
    """Whether the connection ``alias`` had been lost and could be opened again within
    ``settings.EXPORT_RESUME_SECONDS`` (False at once if it was not lost: the error was
    something else, which waiting would not mend)."""
    connection = connections[alias]
    if connection.is_usable():
        return False
    deadline = time.monotonic() + settings.EXPORT_RESUME_SECONDS
    while True:
        try:
            connection.close()
        except DatabaseError:
            pass  # closing a broken connection may fail; it is dropped all the same
        try:
            connection.ensure_connection()
            return True
        except DatabaseError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.5)


class Slot:
    """One of the ``settings.EXPORT_SLOTS`` exports that may stream at once: a lease in
    the cache (shared by every process with Redis, one per process in local memory),
    renewed while the export streams and given back when it ends, however it ends. A
    process that dies holding one loses it after ``LEASE`` seconds.

    Iterating a Slot iterates ``stream``; StreamingHttpResponse closes it (and so gives
    the lease back) when the response is closed, read to its end or not, even when the
    stream never started."""

    LEASE = 120  # seconds; renewed every LEASE / 4 while the export streams
    KEY = "export-slot:{}"

    def __init__(self, key, token):
        self.key, self.token, self.stream = key, token, iter(())
        self.renewed = time.monotonic()

    @classmethod
    def take(cls):
        """A free slot, or None when every one is taken. With no bound (0), a slot that
        holds nothing."""
        token = secrets.token_hex(8)
        if settings.EXPORT_SLOTS <= 0:
            return cls(None, token)
        for i in range(settings.EXPORT_SLOTS):
            key = cls.KEY.format(i)
            if caches["slots"].add(key, token, timeout=cls.LEASE):
                return cls(key, token)
        return None

    def __iter__(self):
        return self

    def __next__(self):
        if self.key and time.monotonic() - self.renewed > self.LEASE / 4:
            self.renew()
        return next(self.stream)

    def renew(self):
        """Keep the lease; if it lapsed (a client that stopped reading for longer than
        LEASE), take it again when it is free. A cache that fails here does not stop an
        export already streaming."""
        slots = caches["slots"]
        try:
            if not slots.touch(self.key, timeout=self.LEASE):
                slots.add(self.key, self.token, timeout=self.LEASE)
        except Exception:  # the export goes on; the lease lapses at worst
            logger.warning("Could not renew export slot %s", self.key, exc_info=True)
        self.renewed = time.monotonic()

    def close(self):
        try:
            close = getattr(self.stream, "close", None)
            if close:
                close()
        finally:
            key, self.key = self.key, None
            if key:
                slots = caches["slots"]
                # (Another's lease under the same key is left alone.)
                if slots.get(key) == self.token:
                    slots.delete(key)


BUSY_RETRY_AFTER = 60  # seconds; a long export takes about that at 100,000 releases


def busy(request):
    """503 when every export slot is taken: say so, and when to come back."""
    response = render(
        request, "statements/export_busy.html", {"retry_after": BUSY_RETRY_AFTER}, status=503
    )
    response["Retry-After"] = str(BUSY_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


def export(request, listing, fmt):
    """``/<listing>/export.<csv|json>?<filters>``: every matching row, streamed."""
    if fmt not in ("csv", "json"):
        raise Http404
    try:
        filterset = filtered(request, listing)
    except InvalidFilters as error:
        return error.response()
    slot = Slot.take()
    if slot is None:
        return busy(request)
    queryset = filterset.qs  # (which sets the ordering's keys)
    rows = rows_of(queryset, listing, citation.base_url(request), filterset.keys)
    if fmt == "csv":
        slot.stream, content_type = _pieces(_csv(rows)), "text/csv; charset=utf-8"
    else:
        slot.stream, content_type = _pieces(_json(rows)), "application/json; charset=utf-8"
    response = StreamingHttpResponse(slot, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="csto-{listing}.{fmt}"'
    return response


PIECE = 1 << 16  # characters; read at each export: tests lower it


def _pieces(lines):
    """``lines`` joined into pieces of about PIECE characters: each piece the server
    sends is one write to the socket, and a write per row cost more than the row."""
    buffer, size = [], 0
    try:
        for line in lines:
            buffer.append(line)
            size += len(line)
            if size >= PIECE:
                yield "".join(buffer)
                buffer, size = [], 0
        if buffer:
            yield "".join(buffer)
    finally:
        lines.close()  # the rows' cursor, at once, however the response ends


def csv_record(values):
    """One CSV record, exactly as ``csv.writer`` writes it in its default dialect (excel:
    a field quoted only when it holds a comma, a double quote, CR or LF, quotes doubled,
    None empty, CRLF at the end; tests/test_open_data.py compares the two on random
    rows). The writer looked at a release's body character by character, 85 µs a row,
    most of a release export's time; ``in`` finds those four in a few µs."""
    fields = []
    for value in values:
        if value is None:
            fields.append("")
            continue
        if not isinstance(value, str):
            value = str(value)
        if "\n" in value or '"' in value or "," in value or "\r" in value:
            value = '"' + value.replace('"', '""') + '"'
        fields.append(value)
    if fields == [""]:
        return '""\r\n'  # (a record of one empty field, told apart from an empty line)
    return ",".join(fields) + "\r\n"


def _csv(rows):
    header = None
    yield "\ufeff"  # a byte-order mark: spreadsheet programs then read the Arabic as UTF-8
    for row in rows:
        if header is None:
            header = list(row)
            yield csv_record(header)
        yield csv_record(
            ["|".join(v) if isinstance(v, list) else v for v in (row[k] for k in header)]
        )


def _json(rows):
    yield "["
    for i, row in enumerate(rows):
        yield ("," if i else "") + "\n" + json.dumps(row, ensure_ascii=False)
    yield "\n]\n"


class ListingFeed(Feed):
    """An Atom feed of a filtered listing: the newest 50, filters in the feed's URL."""

    feed_type = Atom1Feed
    listing = None

    def author_name(self, obj):
        # RFC 4287: a feed names an author unless every entry does.
        return settings.ARCHIVE_NAME_EN

    def __call__(self, request, *args, **kwargs):
        try:
            return super().__call__(request, *args, **kwargs)
        except InvalidFilters as error:
            return error.response()

    def get_object(self, request, *args, **kwargs):
        self.request = request
        self.base = citation.base_url(request)
        return filtered(request, self.listing).qs

    def link(self, obj):
        query = self.request.GET.urlencode()
        return f"{self.base}/{self.listing}/" + (f"?{query}" if query else "")

    def feed_url(self, obj):
        return self.base + self.request.get_full_path()

    def items(self, obj):
        return list(obj[:FEED_ITEMS])

    def item_link(self, item):
        return self.base + item.get_absolute_url()

    def item_guid(self, item):
        return self.item_link(item)

    item_guid_is_permalink = True

    def item_updateddate(self, item):
        release = item if isinstance(item, Release) else item.release
        return release.updated_at

    def item_pubdate(self, item):
        release = item if isinstance(item, Release) else item.release
        return release.first_published_at or release.updated_at


class ReleaseFeed(ListingFeed):
    listing = "releases"

    def title(self, obj):
        return _("CSTO statements archive: releases")

    def subtitle(self, obj):
        return _("New releases matching the filters in this feed's address.")

    def item_title(self, item):
        return item.display_title

    def item_description(self, item):
        return f"{item.source.name} — {item.dateline}" if item.dateline else item.source.name


class PositionFeed(ListingFeed):
    listing = "positions"

    def title(self, obj):
        return _("CSTO statements archive: positions")

    def subtitle(self, obj):
        return _("New positions matching the filters in this feed's address.")

    def item_title(self, item):
        return f"{item.get_stance_display()}: {item.summary}"

    def item_description(self, item):
        return f"«{item.quote}» — {item.release.display_title}"
