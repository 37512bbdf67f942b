"""Count tables: the facet counts and totals of the public listings, kept as sums.

A listing's first view after a publication used to group the archive's rows for
each facet: 2–7 s at 100,000 releases (bench/RESULTS.md). Here each combination
of filter values has its count in :class:`~statements.models.FacetCount`, so a
facet is a ``GROUP BY`` over a few thousand sums (``../shared/docs/performance.md``:
"precomputed count tables ... every facet and total 0.03–4.4 ms").

Kinds of count, each by the dimensions that keep its table modest (at 100,000
releases: from a few hundred rows to a few million); a lookup reads the smallest
kind that has every dimension it needs (:data:`KINDS`):

* public positions by stance, issuing body, source and year (``p``); by topic,
  stance and year (``pt``); by topic and all of those (``px``); and, smaller, by
  each of stance, body, source and topic with the year (``ps``, ``pb``, ``pr``,
  ``pty``);
* published releases likewise (``r``: stance, body, source, year; ``rx``: topic,
  stance, body, source, year; ``rts``: topic, stance, year; ``rs``, ``rb``, ``rr``,
  ``rty``), where a release counts once with any stance ("") and once for each
  stance its positions have;
* by topic with the issuing body or the source alone, and the year (``ptb``, ``ptr``,
  ``rtb``, ``rtr``): the topic facets of a listing filtered by body or source read a
  few thousand sums there, not the million of ``px`` or ``rx`` (0.2–0.7 s at 100,000);
* pairs of topics, of either facet (``pair``), for the topic and place facets of a
  listing filtered by a topic or a place, and for a listing filtered by both:
  positions by both topics, stance and year (``pc``), releases by both topics and
  year (``rc``) and with stance (``rcs``). A record counts for a pair when it is
  under both topics, so a topic is paired with itself too (its own count);
* positions by topic and each topic recorded on them, of any facet (``pd``, read by
  :func:`pairs`, not :func:`lookup`): a topic page's related topics, and each
  topic's own count.

A topic counts its narrower topics' records too, each once (as its filter does):
the topic dimension is each record's topics with all their broader topics. A
source counts the records it published and those it relayed: relay rows are
kept apart (``relay``) and left out unless the source is filtered or counted.
The year is the record's date's (0 when unknown), so only whole-year date ranges
can be answered from the table.

:func:`lookup` answers what these dimensions can answer and returns None for the
rest (a search, a partial-year range, a dimension the kind lacks: the issuing body
or the source of a listing filtered by two topics), which statements.facets then
counts from the records.

Keeping them: each release's share of the stored kinds is stored
(:class:`FacetContribution`); the sums of the other kinds (:data:`DERIVED`) are
computed from those shares, so that they cost no rows of their own. :func:`recount`
takes a release's stored share (and what derives from it) away from the sums,
computes its new share from its records and adds it, in the caller's transaction,
whatever changed (statements.listing.refresh calls it, and the signal handlers for
deletions, relays and the codebook). :func:`drift` compares everything, derived
kinds included, with a fresh computation from the records; the tests call it after
every kind of edit. Migrate recounts everything when what computes the counts has
changed (:func:`ensure`).
"""

import hashlib
import math
from contextlib import contextmanager, nullcontext

from django.db import connection, connections, router, transaction

from .models import (
    FacetContribution,
    FacetCount,
    IssuingBody,
    ListingGeneration,
    Position,
    Release,
    Stance,
    Topic,
    TopicEntry,
)

DIMS = ("topic", "pair", "stance", "body", "source", "year", "relay")
# What each kind is counted by (a date range is answered by the year), smallest
# first: a lookup reads the first kind that has every dimension it needs.
KINDS = {
    "p": [
        ("ps", {"stance", "year"}),
        ("pb", {"body", "year"}),
        ("pr", {"source", "year"}),
        ("pty", {"topic", "year"}),
        ("pt", {"topic", "stance", "year"}),
        ("ptb", {"topic", "body", "year"}),
        ("ptr", {"topic", "source", "year"}),
        ("p", {"stance", "body", "source", "year"}),
        ("px", {"topic", "stance", "body", "source", "year"}),
        ("pc", {"topic", "pair", "stance", "year"}),
        ("pcb", {"topic", "pair", "body", "year"}),
        ("pcr", {"topic", "pair", "source", "year"}),
        # Not read by lookup (see pairs): positions by topic (with everything under it)
        # and each topic recorded on them, of any facet: "related topics", and, where
        # the two are the same topic, positions recorded on that topic itself.
        ("pd", {"topic", "pair"}),
    ],
    "r": [
        ("rs", {"stance", "year"}),
        ("rb", {"body", "year"}),
        ("rr", {"source", "year"}),
        ("rty", {"topic", "year"}),
        ("rts", {"topic", "stance", "year"}),
        ("rtb", {"topic", "body", "year"}),
        ("rtr", {"topic", "source", "year"}),
        ("r", {"stance", "body", "source", "year"}),
        ("rx", {"topic", "stance", "body", "source", "year"}),
        ("rc", {"topic", "pair", "year"}),
        ("rcs", {"topic", "pair", "stance", "year"}),
        ("rcb", {"topic", "pair", "body", "year"}),
        ("rcr", {"topic", "pair", "source", "year"}),
    ],
}
# Kinds whose shares are not stored: their sums come from each release's stored shares
# of other kinds, as a projection of one kind (``ps`` is ``p`` by stance and year), or,
# for releases, its topics (``rty``) or topic pairs (``rc``, and ``pc`` for its
# positions) with each of its rows of ``r`` (stance, body, source, year, relay). Exact,
# since a release has one body, one source and one date, and a position one stance and
# its release's body.
DERIVED = {
    "ps": ("p",),
    "pb": ("p",),
    "pr": ("p",),
    "pty": ("px",),
    "pt": ("px",),
    "ptb": ("px",),
    "ptr": ("px",),
    "pcb": ("pc", "r"),
    "pcr": ("pc", "r"),
    "rs": ("r",),
    "rb": ("r",),
    "rr": ("r",),
    "rts": ("rty", "r"),
    "rtb": ("rty", "r"),
    "rtr": ("rty", "r"),
    "rx": ("rty", "r"),
    "rcs": ("rc", "r"),
    "rcb": ("rc", "r"),
    "rcr": ("rc", "r"),
}
KIND_DIMS = {kind: dims for kinds in KINDS.values() for kind, dims in kinds}
STORED = [kind for kind in KIND_DIMS if kind not in DERIVED]


def _year(column):
    if connection.vendor == "postgresql":
        return f"COALESCE(CAST(EXTRACT(YEAR FROM {column}) AS INTEGER), 0)"
    return f"COALESCE(CAST(strftime('%%Y', {column}) AS INTEGER), 0)"


def _shares_sql(where_release, kinds=STORED):
    """(WITH clause, SELECT) of every share (release_id, kind, dims..., n) of the
    releases that ``where_release`` (SQL on a column named ``{c}``) selects, of
    ``kinds`` (those whose shares are stored; any kind can be computed so)."""
    names = {
        "position": Position._meta.db_table,
        "release": Release._meta.db_table,
        "entry": TopicEntry._meta.db_table,
        "topic": Topic._meta.db_table,
        "relays": Release.relayed_from.through._meta.db_table,
    }
    yes = "TRUE" if connection.vendor == "postgresql" else "1"
    # Each topic with itself and its broader topics.
    up = (
        "up(topic_id, ancestor_id) AS (SELECT id, id FROM {topic} "
        "UNION SELECT up.topic_id, b.id FROM up "
        "JOIN {topic} t ON t.id = up.ancestor_id JOIN {topic} b ON b.id = t.parent_id)"
    ).format(**names)
    parts = []
    for listing, listed in KINDS.items():
        for kind, dims in listed:
            if kind not in kinds:
                continue
            for relay in (False, True) if "source" in dims else (False,):
                parts.append(_kind_sql(listing, kind, dims, relay, where_release, names, yes))
    return f"WITH RECURSIVE {up}", " UNION ALL ".join(parts)


def _kind_sql(listing, kind, dims, relay, where, names, yes):
    """The shares of one kind: each release's rows, grouped by the kind's dimensions."""
    no = "FALSE" if yes == "TRUE" else "0"
    pair = "0"
    if listing == "p":
        # Positions: their listing copies, or their topic entries (which carry the same
        # copies) with each topic's broader topics; a position counts once per group.
        if "topic" in dims:
            rows = f"{names['entry']} e JOIN up ON up.topic_id = e.topic_id"
            public = f"e.is_public = {yes} AND {where.format(c='e.release_id')}"
            a, topic, counted = "e", "up.ancestor_id", "COUNT(DISTINCT e.position_id)"
            if kind == "pd":
                # The same position's topics, as recorded.
                rows += f" JOIN {names['entry']} e2 ON e2.position_id = e.position_id"
                pair = "e2.topic_id"
            elif "pair" in dims:
                # The same position's topics, with their broader topics, of either facet
                # (itself included: a position under both ``topic`` and ``pair``).
                rows += (
                    f" JOIN {names['entry']} e2 ON e2.position_id = e.position_id"
                    " JOIN up u2 ON u2.topic_id = e2.topic_id"
                )
                pair = "u2.ancestor_id"
        else:
            rows = f"{names['position']} p"
            public = f"p.is_public = {yes} AND {where.format(c='p.release_id')}"
            a, topic, counted = "p", "0", "COUNT(*)"
        release_id, stance, body = f"{a}.release_id", f"{a}.stance", f"{a}.issuing_body"
        source, year = f"{a}.release_source_id", _year(f"{a}.release_date")
    else:
        # Releases: once each; by topic, once per topic (with its broader topics) their
        # public positions have; by stance, once with any stance ('') and once per
        # stance their public positions have.
        rows = f"{names['release']} r"
        public = f"r.status = 'published' AND {where.format(c='r.id')}"
        release_id, stance, topic, counted = "r.id", "''", "0", "COUNT(*)"
        body, source, year = "r.issuing_body", "r.source_id", _year("r.published_on")
        if "topic" in dims:
            rows += (
                f" JOIN (SELECT DISTINCT e.release_id, up.ancestor_id FROM "
                f"{names['entry']} e JOIN up ON up.topic_id = e.topic_id WHERE "
                f"e.is_public = {yes} AND {where.format(c='e.release_id')}) x "
                "ON x.release_id = r.id"
            )
            topic = "x.ancestor_id"
            if "pair" in dims:
                # The release's topics, from any of its positions, of either facet.
                rows += (
                    f" JOIN (SELECT DISTINCT e.release_id, up.ancestor_id FROM "
                    f"{names['entry']} e JOIN up ON up.topic_id = e.topic_id WHERE "
                    f"e.is_public = {yes} AND {where.format(c='e.release_id')}) x2 "
                    "ON x2.release_id = r.id"
                )
                pair = "x2.ancestor_id"
        if "stance" in dims:
            rows += (
                f" JOIN (SELECT DISTINCT release_id, stance FROM {names['position']} "
                f"WHERE is_public = {yes} AND {where.format(c='release_id')} "
                f"UNION SELECT id, '' FROM {names['release']} WHERE {where.format(c='id')}) s "
                "ON s.release_id = r.id"
            )
            stance = "s.stance"
    if relay:
        # A source that also relayed its own release counts it once.
        rows += (
            f" JOIN {names['relays']} l ON l.release_id = {release_id} AND l.source_id <> {source}"
        )
        source = "l.source_id"
    values = {
        "topic": topic,
        "pair": pair,
        "stance": stance if "stance" in dims else "''",
        "body": body if "body" in dims else "''",
        "source": source if "source" in dims else "0",
        "year": year if "year" in dims else "0",
    }
    grouped = ", ".join([release_id] + [values[d] for d in DIMS[:-1] if d in dims])
    return (
        f"SELECT {release_id}, '{kind}', {values['topic']}, {values['pair']}, {values['stance']}, "
        f"{values['body']}, {values['source']}, {values['year']}, {yes if relay else no}, "
        f"{counted} FROM {rows} WHERE {public} GROUP BY {grouped}"
    )


def _shares_query(where_release):
    ctes, select = _shares_sql(where_release)
    return f"{ctes} {select}"


COLUMNS = "kind, topic, pair, stance, body, source, year, relay"
CHUNK = 2000  # releases recounted per statement
# At most this many combinations of held values are read one by one (lookup): about
# 0.05 ms each, where more would cost more than the range they replace.
MAX_SEEKS = 100


def _in(ids):
    """A condition on column ``{c}``: one of ``ids`` (integers from the database itself,
    written out, so the statements need no parameter counting)."""
    return "{c} IN (" + ", ".join(str(int(i)) for i in ids) + ")"


def _sums_sql(where, sign):
    """SELECT of the sums (COLUMNS, n) that the stored shares of the releases ``where``
    selects add to the counts, times ``sign``: those of the stored kinds and, from the
    same shares, those of the derived kinds."""
    shares = FacetContribution._meta.db_table
    no = "FALSE" if connection.vendor == "postgresql" else "0"
    parts = [
        f"SELECT {COLUMNS}, {int(sign)} * SUM(n) FROM {shares} "
        f"WHERE {where.format(c='release_id')} GROUP BY {COLUMNS}"
    ]
    for kind, (first, *joined) in DERIVED.items():
        dims = KIND_DIMS[kind]
        rows, conditions = f"{shares} a", [f"a.kind = '{first}'", where.format(c="a.release_id")]
        b = "a"  # the share that has the stance, body, source, year and relay
        if joined:
            b = "b"
            rows += f" JOIN {shares} b ON b.release_id = a.release_id AND b.kind = '{joined[0]}'"
            # Said of b too: PostgreSQL does not carry a list of releases across the join.
            # Without it, a recount of 500 releases at 100,000 read b's 21 million shares
            # (a parallel seq scan and merge join, 0.5 s per derived kind, 2.8 s in all);
            # with it, b's shares of those releases through facetcontribution_kind_idx.
            conditions.append(where.format(c="b.release_id"))
        if "source" not in dims:
            conditions.append(f"{b}.relay = {no}")
        if "stance" not in dims and (kind.startswith("r") or joined):
            # A release once, with any stance (its rows of ``r`` joined to a share of its
            # positions' topics carry no stance of theirs).
            conditions.append(f"{b}.stance = ''")
        values = {
            "topic": "a.topic" if "topic" in dims else None,
            "pair": "a.pair" if "pair" in dims else None,
            "stance": f"{b}.stance" if "stance" in dims else None,
            "body": f"{b}.body" if "body" in dims else None,
            "source": f"{b}.source" if "source" in dims else None,
            "year": f"{b}.year",
            "relay": f"{b}.relay",
        }
        grouped = ", ".join(v for v in values.values() if v)
        defaults = {"topic": "0", "pair": "0", "stance": "''", "body": "''", "source": "0"}
        selected = ", ".join(values[d] or defaults[d] for d in DIMS)
        n = "a.n * b.n" if joined else "a.n"
        parts.append(
            f"SELECT '{kind}', {selected}, {int(sign)} * SUM({n}) FROM {rows} "
            f"WHERE {' AND '.join(conditions)} GROUP BY {grouped}"
        )
    return " UNION ALL ".join(parts)


def _apply(cursor, where, sign):
    """Add (sign 1) or take away (-1) the sums of the stored shares of the releases
    ``where`` selects."""
    table = FacetCount._meta.db_table
    cursor.execute(
        # (WHERE 1 = 1: SQLite's upsert after a SELECT needs a WHERE to be parsed.)
        f"INSERT INTO {table} ({COLUMNS}, n) SELECT * FROM ({_sums_sql(where, sign)}) AS s "
        f"WHERE 1 = 1 ON CONFLICT ({COLUMNS}) DO UPDATE SET n = {table}.n + excluded.n",
        [],
    )


def _serialize(cursor):
    """One writer of the counts at a time (PostgreSQL; SQLite has one writer anyway): two
    saves taking shares away and adding them could otherwise deadlock on the sums they
    share, or take one release's share away twice. Held until the transaction ends."""
    if connection.vendor == "postgresql":
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])
        # The planner's estimates for these statements are large enough to compile them
        # (JIT): 1.4 s of an 8 s recount of 500 releases at 100,000, for nothing.
        cursor.execute("SET LOCAL jit = off")


LOCK = 0x63737430  # "cst0": the advisory lock of the count tables


def recount(release_ids):
    """Replace the shares of ``release_ids`` in the counts with their current ones."""
    _replace(release_ids, add=True)


def forget(release_ids):
    """Take the shares of releases about to be deleted away from the counts."""
    _replace(release_ids, add=False)


def _replace(release_ids, *, add):
    """Take the stored shares of ``release_ids`` away, then (``add``) store and add their
    shares computed afresh."""
    release_ids = sorted(set(release_ids))
    if not release_ids:
        return
    shares = FacetContribution._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        _serialize(cursor)
        for start in range(0, len(release_ids), CHUNK):
            where = _in(release_ids[start : start + CHUNK])
            _apply(cursor, where, -1)
            cursor.execute(f"DELETE FROM {shares} WHERE {where.format(c='release_id')}", [])
            if add:
                cursor.execute(
                    f"INSERT INTO {shares} (release_id, {COLUMNS}, n) {_shares_query(where)}", []
                )
                _apply(cursor, where, 1)
        cursor.execute(f"DELETE FROM {FacetCount._meta.db_table} WHERE n = 0", [])


def rebuild(*, bulk=False):
    """Recompute every count and share from the records. ``bulk``: a command's rebuild of
    a large archive (migrate, a generated corpus), which may take SQLite's page cache to
    SQLITE_PAGE_CACHE_KIB for the while (not a web process's, after a codebook edit)."""
    table = FacetCount._meta.db_table
    shares = FacetContribution._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        _serialize(cursor)
        cursor.execute(f"DELETE FROM {shares}", [])
        cursor.execute(f"DELETE FROM {table}", [])
        step = REBUILD_CHUNK.get(connection.vendor)
        if step is None:
            ranges = ["1 = 1"]
        else:
            cursor.execute(f"SELECT MIN(id), MAX(id) FROM {Release._meta.db_table}", [])
            low, high = cursor.fetchone()
            ranges = [
                f"{{c}} BETWEEN {start} AND {start + step - 1}"
                for start in (range(low, high + 1, step) if low is not None else ())
            ]
        with _page_cache(cursor) if bulk else nullcontext():
            for where in ranges:
                cursor.execute(
                    f"INSERT INTO {shares} (release_id, {COLUMNS}, n) {_shares_query(where)}", []
                )
                _apply(cursor, where, 1)
        ListingGeneration.objects.update_or_create(pk=1, defaults={"counts_version": signature()})


# Releases whose counts :func:`rebuild` sums in one statement, by database (None: all).
# PostgreSQL sums the whole archive at once (its hash aggregates). SQLite's sorters
# spill to temporary files: at 20,000 releases the sums took 626 s in one statement, and
# 136 s by chunks of 2,000 releases (with the page cache below and the index of migration
# 0019); at 100,000 the one statement had not finished after 50 min.
REBUILD_CHUNK = {"sqlite": 2000}
SQLITE_PAGE_CACHE_KIB = 1_000_000  # a bulk rebuild's: the sums' index stays in memory


@contextmanager
def _page_cache(cursor):
    """SQLite: a page cache large enough for the sums' unique index (about 1 GB; SQLite's
    default is 2 MB) while :func:`rebuild` adds to it chunk by chunk (the sums at 20,000
    releases, before migration 0019: 218 → 178 s)."""
    if connection.vendor != "sqlite":
        yield
        return
    cursor.execute("PRAGMA cache_size", [])
    (before,) = cursor.fetchone()
    cursor.execute(f"PRAGMA cache_size = -{SQLITE_PAGE_CACHE_KIB}", [])
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(before)}", [])


def signature():
    """What computes the counts (a digest of the statement that computes every share):
    stored by :func:`rebuild`, so that :func:`ensure` knows when the counting changed."""
    computed = _shares_query("1 = 1") + _sums_sql("1 = 1", 1)
    return hashlib.sha256(computed.encode()).hexdigest()[:32]


def ensure():
    """Recount everything if the tables were computed by other code than today's (or
    never): migrate calls it (statements.apps), so a change of kinds needs no step of
    its own. True when it recounted tables that other code had computed."""
    stored = ListingGeneration.objects.filter(pk=1).values_list("counts_version", flat=True).first()
    if stored == signature():
        return False
    had = FacetContribution.objects.exists()
    rebuild(bulk=True)
    return had


def drift(limit=20, releases=None):
    """Differences between the stored shares and sums and a fresh computation from the
    records (empty: none): shares missing or stale, and sums (of every kind, derived
    ones included, each computed directly) missing or stale.

    With ``releases`` (ids), what edits of those releases can have put out of step, in
    seconds rather than a recount of the archive: their shares against the records, and
    the sums of the stored kinds they now count in against the stored shares of every
    release (sums are kept from the shares; a sum they no longer count in is not
    checked, nor are the derived kinds, which the same statements keep)."""
    table = FacetCount._meta.db_table
    shares = FacetContribution._meta.db_table
    fresh, sums = "csto_fresh_shares", "csto_share_sums"
    if releases is None:
        where, kept_shares = "1 = 1", shares
        ctes, select = _shares_sql(where, kinds=KIND_DIMS)
        stored_kinds = ", ".join(f"'{kind}'" for kind in STORED)
        computed = f"SELECT * FROM {fresh} WHERE kind IN ({stored_kinds})"
        summing, kept = f"SELECT {COLUMNS}, n FROM {fresh}", table
    else:
        where = _in(releases) if releases else "1 = 0"
        ctes, select = _shares_sql(where)
        kept_shares = f"(SELECT * FROM {shares} WHERE {where.format(c='release_id')}) AS k"
        computed = f"SELECT * FROM {fresh}"
        groups = f"(SELECT DISTINCT {COLUMNS} FROM {fresh}) AS g"
        summing = f"SELECT {COLUMNS}, n FROM {shares} JOIN {groups} USING ({COLUMNS})"
        kept = f"{table} JOIN {groups} USING ({COLUMNS})"
    stored = f"SELECT release_id, {COLUMNS}, n FROM {kept_shares}"
    summed = f"SELECT {COLUMNS}, n FROM {sums}"
    kept = f"SELECT {COLUMNS}, n FROM {kept}"
    checks = [
        ("missing share", f"{computed} EXCEPT {stored}"),
        ("stale share", f"{stored} EXCEPT {computed}"),
        ("missing sum", f"{summed} EXCEPT {kept}"),
        ("stale sum", f"{kept} EXCEPT {summed}"),
    ]
    problems = []
    # Temporary tables: what is computed (most of the cost) is computed once.
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {fresh} AS {ctes}, "
            f"fresh (release_id, {COLUMNS}, n) AS ({select}) SELECT * FROM fresh",
            [],
        )
        try:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {sums} AS WITH s ({COLUMNS}, n) AS ({summing}) "
                f"SELECT {COLUMNS}, SUM(n) AS n FROM s GROUP BY {COLUMNS} HAVING SUM(n) <> 0",
                [],
            )
            try:
                for label, sql in checks:
                    cursor.execute(f"{sql} LIMIT {int(limit)}", [])
                    problems += [f"{label}: {row}" for row in cursor.fetchall()]
            finally:
                cursor.execute(f"DROP TABLE {sums}", [])
        finally:
            cursor.execute(f"DROP TABLE {fresh}", [])
    return problems


def _one_of(name, values, vendor):
    """(SQL, params): column ``name`` is one of ``values``."""
    values = list(values)
    if vendor == "postgresql":
        return f"{name} = ANY(%s)", [values]
    return f"{name} IN ({', '.join(['%s'] * len(values))})", values


def lookup(listing, filters, group=None, values=None):
    """Counts of the public ``listing`` ("p" positions, "r" releases) matching
    ``filters``, from the count table: ``{value: n}`` by the dimension ``group`` (topic,
    stance, body, source or year), or the total when ``group`` is None. None when the
    table cannot say (a dimension its kind lacks).

    By ``group`` topic under a ``topic`` filter, the values are the topics that its
    records are also under (the pair kinds ``pc``, ``rc``, ``rcs``).

    ``filters`` maps dimensions to values: ``topic`` (a topic's pk: it and everything
    under it), ``pair`` (a second topic, likewise: records under both), ``stance``,
    ``body``, ``source`` (a source's pk: published or relayed), ``year_from`` and
    ``year_to`` (whole years).

    ``values``, by topic: the topics wanted (the others may be left out).
    """
    wanted = {"year" if name.startswith("year_") else name for name in filters}
    column = group
    if group == "topic" and "topic" in filters:
        if "pair" in filters:
            return None  # three topics at once
        # Topics among one topic's records: the pair kinds.
        wanted.add("pair")
        column = "pair"
    elif group in wanted and group != "year":
        return None
    if group:
        wanted.add(group)
    paired = "pair" in wanted
    kind = next(
        (k for k, d in KINDS[listing] if wanted <= d and ("pair" in d) == paired and k != "pd"),
        None,
    )
    if kind is None:
        return None
    dims = KIND_DIMS[kind]
    # Each of the unique index's columns (kind, topic, pair, stance, body, source) held to
    # one value or a few, so that its btree is read only where the answer is:
    # equal = {column: value}, among = {column: values}.
    equal, among = {"kind": kind}, {}
    for name in ("topic", "pair", "stance", "body", "source"):
        if name in filters:
            equal[name] = filters[name]
        elif name not in dims and name != "source":
            # Every row of a kind without topics (or pairs, stance, body) has 0 (or "").
            equal[name] = 0 if name in ("topic", "pair") else ""
    if listing == "r" and "stance" in dims and "stance" not in filters:
        # A release counts once with any stance (""), and once for each stance it has.
        if group == "stance":
            among["stance"] = Stance.values
        else:
            equal["stance"] = ""
    # A column left free before one that is held would make the read cover every value of
    # the free one: ?stance=affirms&issuing_body=sg read all of px (a million sums at
    # 100,000 releases) for its topic facet. Holding the free column to its possible
    # values (``values`` for the grouped topic, the choices for stance and body, which
    # the database's constraints hold to) lets the index seek each combination. (Reads
    # go where the reader's other queries go: a replica, when there is one.)
    order = ("topic", "pair", "stance", "body", "source")
    # (PostgreSQL only: SQLite 3.40 answered one such shape wrongly, see below, and its
    # archives are small.)
    db = connections[router.db_for_read(FacetCount)]
    if db.vendor != "postgresql":
        order = ()
    held = [n for n in order if n in equal or n in among]
    last = max((order.index(n) for n in held), default=-1)
    for name in order[:last]:
        if name in equal or name in among or name not in dims:
            continue
        if name == column and values is not None:
            among[name] = sorted({int(v) for v in values})
        elif name == "stance" and listing == "p":
            among[name] = Stance.values
        elif name == "body":
            among[name] = IssuingBody.values
    where, params = [], []
    for name, value in equal.items():
        where.append(f"{name} = %s")
        params.append(value)
    # A few combinations of held values are read one by one (PostgreSQL): given as arrays,
    # PostgreSQL 15 may apply them as a filter of every sum before the next held column
    # (positions by source: the stance and body facets read all 93,596 sums of "p" with
    # no topic, 11-19 ms, bench/RESULTS.md), where each combination is a narrow range.
    combinations = math.prod(len(options) for options in among.values())
    seek = db.vendor == "postgresql" and among and combinations <= MAX_SEEKS
    if seek:
        arrays = [(name, list(options)) for name, options in among.items()]
        where += [f"{name} = v{i}.{name}" for i, (name, _options) in enumerate(arrays)]
    else:
        for name, options in among.items():
            sql, more = _one_of(name, options, db.vendor)
            where.append(sql)
            params += more
    if "source" not in filters and group != "source":
        where.append("relay = %s")  # a relaying source's rows only count for that source
        params.append(False)
    if "year_from" in filters or "year_to" in filters or group == "year":
        # (> 0, not <> 0: SQLite 3.40 returns rows past the range when <> and a range
        # meet an IN list on the same index, tests/test_counts.py found.)
        where.append("year > 0")
    if "year_from" in filters:
        where.append("year >= %s")
        params.append(filters["year_from"])
    if "year_to" in filters:
        where.append("year <= %s")
        params.append(filters["year_to"])
    table = FacetCount._meta.db_table
    condition = " AND ".join(where)
    if seek:
        # Each combination of the arrays' values, and its sums read by the index alone.
        combined = " CROSS JOIN ".join(
            f"unnest(%s::{'int' if name in ('topic', 'pair') else 'text'}[]) AS v{i}({name})"
            for i, (name, _options) in enumerate(arrays)
        )
        params = [options for _name, options in arrays] + params
        if group is None:
            inner = f"SELECT SUM(n) AS n FROM {table} WHERE {condition}"
            sql = f"SELECT COALESCE(SUM(x.n), 0) FROM {combined} CROSS JOIN LATERAL ({inner}) x"
        else:
            inner = (
                f"SELECT {column} AS g, SUM(n) AS n FROM {table} WHERE {condition} "
                f"GROUP BY {column}"
            )
            sql = (
                f"SELECT x.g, SUM(x.n) FROM {combined} CROSS JOIN LATERAL ({inner}) x GROUP BY x.g"
            )
    elif group is None:
        sql = f"SELECT COALESCE(SUM(n), 0) FROM {table} WHERE {condition}"
    else:
        sql = f"SELECT {column}, SUM(n) FROM {table} WHERE {condition} GROUP BY {column}"
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        if group is None:
            return int(cursor.fetchone()[0])
        return {value: int(n) for value, n in cursor.fetchall() if n}


def pairs(topic=None):
    """From kind ``pd``: {topic pk: public positions under ``topic`` (a pk: it and its
    narrower topics) that are recorded on that topic}; with ``topic`` None, {topic pk:
    public positions recorded on it} for every topic."""
    table = FacetCount._meta.db_table
    with connections[router.db_for_read(FacetCount)].cursor() as cursor:
        if topic is None:
            cursor.execute(f"SELECT topic, n FROM {table} WHERE kind = 'pd' AND pair = topic", [])
        else:
            cursor.execute(
                f"SELECT pair, n FROM {table} WHERE kind = 'pd' AND topic = %s", [int(topic)]
            )
        return {pk: int(n) for pk, n in cursor.fetchall() if n}
