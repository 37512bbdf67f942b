"""The listings' ordering indexes carry the record's key (PostgreSQL: ``INCLUDE (id)``).

A broad search samples the newest records, and the records as deep as its walk would
go, to decide whether walking them is the short way to its newest matches
(statements.search.dense): ``SELECT id ... ORDER BY published_on DESC NULLS LAST,
public_id DESC LIMIT 200 OFFSET 5800``. With the index as it was, each of the 6,000
entries walked read its table row for the key. ``EXPLAIN (ANALYZE, BUFFERS)`` at
100,000 releases, vacuumed: an Index Scan, 21.1 ms and 6,029 buffers; with the key in
the index, an Index Only Scan, 0.73 ms, 33 buffers and no heap fetch. The listings'
keyset pages walk the same indexes. SQLite's indexes hold the rowid already.

The indexes are rebuilt in the migration's transaction: 5 s at 100,000 releases / 800,000
positions, during which every query of the two tables waits (DROP INDEX locks them); run
it when a pause of that length is acceptable. statements.listing_schema has the
definitions.
"""

from django.db import migrations


def rebuild(definitions):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, definition in definitions.items():
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
            schema_editor.execute(f"CREATE INDEX {name} {definition}")

    return run


COVERING = {
    "position_listing_newest_idx": "ON statements_position "
    "(release_date DESC NULLS LAST, release_public_id DESC, number) INCLUDE (id) "
    "WHERE is_public",
    "position_listing_oldest_idx": "ON statements_position "
    "(release_date ASC NULLS LAST, release_public_id, number) INCLUDE (id) WHERE is_public",
    "release_listing_newest_idx": "ON statements_release "
    "(published_on DESC NULLS LAST, public_id DESC) INCLUDE (id) WHERE status = 'published'",
    "release_listing_oldest_idx": "ON statements_release "
    "(published_on ASC NULLS LAST, public_id) INCLUDE (id) WHERE status = 'published'",
}
PLAIN = {
    "position_listing_newest_idx": "ON statements_position "
    "(release_date DESC NULLS LAST, release_public_id DESC, number) WHERE is_public",
    "position_listing_oldest_idx": "ON statements_position "
    "(release_date ASC NULLS LAST, release_public_id, number) WHERE is_public",
    "release_listing_newest_idx": "ON statements_release "
    "(published_on DESC NULLS LAST, public_id DESC) WHERE status = 'published'",
    "release_listing_oldest_idx": "ON statements_release "
    "(published_on ASC NULLS LAST, public_id) WHERE status = 'published'",
}


class Migration(migrations.Migration):
    dependencies = [
        ("statements", "0016_facetcount_zero"),
    ]

    operations = [
        migrations.RunPython(rebuild(COVERING), rebuild(PLAIN)),
    ]
