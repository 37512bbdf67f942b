"""The indexes the public listings page by, which Django's models do not declare.

They match ``ORDER BY ... NULLS LAST`` exactly, and are partial (public rows only):
what ``models.Index`` cannot say the same way on both backends. Migration 0007
created them; SQLite drops an index written in raw SQL whenever Django rebuilds
its table to alter it (migration 0011 did, adding columns with defaults), after
which every listing page sorted all public rows (found by bench/datasette_compare.py).
So, as for the search index (statements.search_schema), :func:`ensure` runs after
every ``migrate`` and creates whichever is missing.

PostgreSQL: an index in the other null order cannot serve the query, and the
planner sorts every public row instead (EXPLAIN at 10,000 releases: a top-N
heapsort over all public positions, against an index scan that stops after 21
rows). SQLite puts NULLs last in a descending index already, has no NULLS clause
in CREATE INDEX, and only uses a partial index whose condition is written as the
query's (``"is_public" = 1``); its indexes hold the rowid (``id``) anyway.
"""

ORDERING_INDEXES = {
    "postgresql": {
        # INCLUDE (id): walking them yields the records' keys without reading the table
        # (migration 0017).
        "position_listing_newest_idx": "ON statements_position "
        "(release_date DESC NULLS LAST, release_public_id DESC, number) INCLUDE (id) "
        "WHERE is_public",
        "position_listing_oldest_idx": "ON statements_position "
        "(release_date ASC NULLS LAST, release_public_id, number) INCLUDE (id) WHERE is_public",
        "release_listing_newest_idx": "ON statements_release "
        "(published_on DESC NULLS LAST, public_id DESC) INCLUDE (id) WHERE status = 'published'",
        "release_listing_oldest_idx": "ON statements_release "
        "(published_on ASC NULLS LAST, public_id) INCLUDE (id) WHERE status = 'published'",
        # A topic's positions newest first, with what a page of them is filtered on
        # (migration 0020).
        "topicentry_newest_idx": "ON statements_topicentry "
        "(topic_id, release_date DESC NULLS LAST, release_public_id DESC, number) "
        "INCLUDE (position_id, stance, issuing_body, release_precision) WHERE is_public",
    },
    "sqlite": {
        "position_listing_newest_idx": "ON statements_position "
        "(release_date DESC, release_public_id DESC, number) WHERE is_public = 1",
        "position_listing_oldest_idx": "ON statements_position "
        "(release_date, release_public_id, number) WHERE is_public = 1",
        "release_listing_newest_idx": "ON statements_release "
        "(published_on DESC, public_id DESC) WHERE status = 'published'",
        "topicentry_newest_idx": "ON statements_topicentry "
        "(topic_id, release_date DESC, release_public_id DESC, number, "
        "stance, issuing_body, release_precision, position_id) WHERE is_public = 1",
    },
}


# The migration that adds an index's columns (0007 unless said): the index is wanted once
# it has run. (A partial ``migrate``, or migration 0012 that calls :func:`ensure`, runs
# on a schema without later columns.)
INTRODUCED = {"topicentry_newest_idx": ("statements", "0020_topicentry_ordering")}
FIRST = ("statements", "0007_listing_copies")


def wanted(connection):
    """{name: definition} of the ordering indexes this database's schema should have."""
    from django.db.migrations.recorder import MigrationRecorder

    applied = MigrationRecorder(connection).applied_migrations()
    return {
        name: definition
        for name, definition in ORDERING_INDEXES.get(connection.vendor, {}).items()
        if INTRODUCED.get(name, FIRST) in applied
    }


def missing(connection):
    """The names of the ordering indexes this database lacks."""
    wanted_here = wanted(connection)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        else:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        present = {row[0] for row in cursor.fetchall()}
    return sorted(set(wanted_here) - present)


def ensure(connection):
    """Create the missing ordering indexes; returns their names."""
    names = missing(connection)
    definitions = ORDERING_INDEXES.get(connection.vendor, {})
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definitions[name]}")
    return names
