"""Keyset pagination: "the 20 rows after this one", as fast on page 500 as on page 1.

An ``OFFSET`` page reads and throws away every row before it (hundreds of
milliseconds for page 500 at the archive's target size, performance.md). A
keyset page starts from the last row the reader saw, through the index that
serves the ordering. The cursor in the URL (``?after=`` / ``?before=``) is
that row's ordering values, e.g. ``2018-11-08.412.3``: readable, stable, and
a bookmark of "from here on".

An ordering is a list of :class:`Key`. Only the first may be NULL (an undated
release); NULLs come last in both directions of reading, as in the listings.
Reading after a cursor is done in at most two index range scans: dated rows
from the cursor on, then (if the page is not full) the undated ones.
"""

import datetime
from dataclasses import dataclass
from functools import cached_property

from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from .limits import MAX_CURSOR_LENGTH, MAX_CURSOR_NUMBER


@dataclass(frozen=True)
class Key:
    field: str
    descending: bool = False
    nullable: bool = False

    def order(self, reverse=False):
        descending = self.descending != reverse
        nulls = {}
        if self.nullable:
            # NULLs last when reading forward, first when reading backward.
            nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
        return F(self.field).desc(**nulls) if descending else F(self.field).asc(**nulls)

    def parse(self, text):
        if self.nullable and text == "-":
            return None
        if self.field.endswith(("_on", "_date")):
            return datetime.date.fromisoformat(text)
        if not (text.isascii() and text.isdigit()):
            raise ValueError(text)  # int() would also read "+1", " 1", "1_0" and "١"
        value = int(text)
        if value > MAX_CURSOR_NUMBER:
            raise ValueError(text)
        return value


def order_by(keys, reverse=False):
    return [key.order(reverse) for key in keys]


def _after(keys, values, reverse):
    """Rows strictly after ``values`` in the order of ``keys`` (all non-null here)."""
    condition = Q(pk__in=[])
    equal = Q()
    for key, value in zip(keys, values, strict=True):
        forward = key.descending == reverse  # ascending when read this way
        condition |= equal & Q(**{f"{key.field}__{'gt' if forward else 'lt'}": value})
        equal &= Q(**{key.field: value})
    return condition


def _range(key, value, reverse):
    """The leading bound an index can start from: the cursor's value and beyond."""
    forward = key.descending == reverse
    return Q(**{f"{key.field}__{'gte' if forward else 'lte'}": value})


def encode(keys, row):
    parts = []
    for key in keys:
        value = getattr(row, key.field)
        if value is None:
            parts.append("-")
        else:
            parts.append(value.isoformat() if hasattr(value, "isoformat") else str(value))
    return ".".join(parts)


def decode(keys, text):
    if len(text) > MAX_CURSOR_LENGTH:
        raise ValueError(text[:MAX_CURSOR_LENGTH])
    parts = text.split(".")
    if len(parts) != len(keys):
        raise ValueError(text)
    values = [key.parse(part) for key, part in zip(keys, parts, strict=True)]
    if any(value is None for key, value in zip(keys, values, strict=True) if not key.nullable):
        raise ValueError(text)
    return values


def _phases(queryset, keys, cursor, reverse):
    """The rows after ``cursor`` (None: from the start) in the given direction, as
    ordered querysets to read one after the other (at most two)."""
    first, rest = keys[0], keys[1:]
    if not first.nullable:
        condition = Q() if cursor is None else _after(keys, cursor, reverse)
        return [queryset.filter(condition).order_by(*order_by(keys, reverse))]
    # Dated rows, then undated ones (forward); undated, then dated (backward).
    dated = queryset.filter(**{f"{first.field}__isnull": False})
    undated = queryset.filter(**{f"{first.field}__isnull": True})
    phases = [(dated, keys), (undated, rest)]
    if reverse:
        phases.reverse()
    if cursor is not None:
        in_undated = cursor[0] is None
        if in_undated:
            current = (undated.filter(_after(rest, cursor[1:], reverse)), rest)
        else:
            condition = _range(first, cursor[0], reverse) & _after(keys, cursor, reverse)
            current = (dated.filter(condition), keys)
        # The cursor's phase, then the other one unless the cursor's is read last
        # (undated rows are last reading forward, first reading backward).
        read_last = in_undated != reverse
        phases = [current] if read_last else [current, phases[1]]
    return [phase.order_by(*order_by(phase_keys, reverse)) for phase, phase_keys in phases]


@dataclass(frozen=True)
class Walk:
    """A listing read through narrower rows that carry its filters and its ordering keys
    under the same names: a page walks each of ``rows`` in the listing's order, down an
    index that stops after the page, then reads those records from ``records`` by their
    key (``key``: the rows' field of it). Each of ``rows`` must hold one row per record it
    lists and be filtered exactly as the listing is; together they list every record,
    a record perhaps in more than one (statements.filters.PositionFilter.walk: the
    entries of a topic and of each narrower topic, statements.models.TopicEntry)."""

    rows: tuple[QuerySet, ...]
    key: str
    records: QuerySet


def _read(queryset, keys, cursor, reverse, limit, walk=None):
    """Up to ``limit`` rows after ``cursor`` (None: from the start), read in the given
    direction; at most two queries, or, walking several ``rows``, one more for each of
    them in each phase (dated, then undated records).

    A record among a phase's first ``limit`` is among the first ``limit`` of each of
    ``rows`` that lists it (the rows before it there list records before it), so the
    records of every one's first ``limit``, ordered, begin with the phase's. They are read
    after the cursor themselves: an edit between the two reads cannot bring one back."""
    rows = []
    if walk is None:
        phases = ((phase, ()) for phase in _phases(queryset, keys, cursor, reverse))
    else:
        walked = zip(*(_phases(each, keys, cursor, reverse) for each in walk.rows), strict=True)
        phases = zip(_phases(walk.records, keys, cursor, reverse), walked, strict=True)
    for phase, parts in phases:
        wanted = limit - len(rows)
        if len(parts) == 1:  # one query: the records of the walk's subquery
            page = parts[0].values(walk.key)[:wanted]
            phase = walk.records.filter(pk__in=page).order_by(*phase.query.order_by)
        elif parts:
            page = set()  # (a record on two topics read once)
            for part in parts:
                page.update(part.values_list(walk.key, flat=True)[:wanted])
            phase = phase.filter(pk__in=page)
        rows += list(phase[:wanted])
        if len(rows) >= limit:
            break
    return rows


def rows_after(queryset, keys, row):
    """Every row of ``queryset`` after ``row`` in the order of ``keys``, as ordered
    querysets to read one after the other."""
    return _phases(queryset, keys, [getattr(row, key.field) for key in keys], False)


class KeysetPage:
    """A page of a keyset-paged listing, as the templates use a Django page."""

    keyset = True

    def __init__(self, queryset, keys, per_page, *, after=None, before=None, count=None, walk=None):
        self.keys = keys
        self.per_page = per_page
        self._count = count
        try:
            after_values = decode(keys, after) if after else None
            before_values = decode(keys, before) if before else None
        except (ValueError, TypeError, OverflowError):
            raise Http404(_("This page of results does not exist.")) from None
        if before_values is not None:
            rows = _read(queryset, keys, before_values, True, per_page + 1, walk)
            self.has_previous = len(rows) > per_page
            self.object_list = list(reversed(rows[:per_page]))
            self.has_next = True
        else:
            rows = _read(queryset, keys, after_values, False, per_page + 1, walk)
            self.has_next = len(rows) > per_page
            self.object_list = rows[:per_page]
            self.has_previous = after_values is not None
        if not self.object_list and (after or before):
            raise Http404(_("This page of results does not exist."))
        self.is_first = not self.has_previous

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    @cached_property
    def total(self):
        """The number of results in the whole listing."""
        return self._count()

    @property
    def paginated(self):
        return self.has_next or self.has_previous

    @property
    def next_query(self):
        return {"after": encode(self.keys, self.object_list[-1]), "before": None, "page": None}

    @property
    def previous_query(self):
        return {"before": encode(self.keys, self.object_list[0]), "after": None, "page": None}

    @property
    def first_query(self):
        return {"before": None, "after": None, "page": None}
