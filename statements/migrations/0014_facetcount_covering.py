"""On PostgreSQL, the count table's unique index also carries ``n`` (``INCLUDE``), so a
lookup reads the sums from the index alone.

Why (``EXPLAIN (ANALYZE, BUFFERS)`` at 100,000 releases, bench/RESULTS.md): the sums of
every kind are interleaved in the table's pages as they are inserted, so summing even a
kind of 1,872 rows (``kind = 'rs'``) was a bitmap index scan followed by ~2,000 heap
blocks, 20–25 ms. With ``n`` in the index it is an index-only scan over the kind's
range of the index, for the pages the visibility map marks all-visible (``generate_corpus``
vacuums the table; autovacuum keeps it so as sums are updated). SQLite has no
``INCLUDE``; its table is small enough at the sizes it serves.
"""

from django.db import migrations

TABLE = "statements_facetcount"
NAME = "statements_facetcount_unique"
KEY = "kind, topic, stance, body, source, year, relay"


def covering(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT {NAME}")
        schema_editor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {NAME} UNIQUE ({KEY}) INCLUDE (n)")


def plain(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT {NAME}")
        schema_editor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {NAME} UNIQUE ({KEY})")


class Migration(migrations.Migration):
    dependencies = [("statements", "0013_facet_counts")]

    operations = [migrations.RunPython(covering, plain, elidable=False)]
