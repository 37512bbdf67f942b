"""A release's positions and listing entries indexed by (release, stance or topic, public),
in place of the foreign keys' own indexes on the release alone, which they lead with.

A release listing with a topic or a stance filter and another of its own (a body, dates)
that the count tables say is small reads its results' keys first (statements.filters):
PostgreSQL goes through the releases that pass their own filters and, for each, looks up
whether it has a public entry on the topic, or a public position with the stance. On the
release index alone each lookup read the release's 8-15 rows from the table to check the
topic and ``is_public``. At 100,000 releases, ``EXPLAIN (ANALYZE, BUFFERS)`` of the keys of
``/releases/?date_from=2015&place=syria&issuing_body=sg`` (6,945 lookups):

    before: Index Scan using statements_topicentry_release_id_5ed30d46
              Filter: (is_public AND (topic_id = 29))  Rows Removed by Filter: 12
              0.015 ms a lookup; 65,895 buffers; 50.6 ms
    after:  Index Only Scan using topicentry_release_topic_idx
              Index Cond: (release_id = ... AND topic_id = 29 AND is_public = true)
              Heap Fetches: 0; 0.006 ms a lookup; 32.0 ms

and the places of the 1,932 releases of ``?topic=afghanistan&stance=calls_for&
issuing_body=secretariat``, counted from the entries by this index (statements.facets,
_rollups), 54 → 16 ms. Over 40 release listings drawn as bench/traffic.py draws them,
SQL 18.3-19.5 → 15.3-15.5 ms a page on average; position listings unchanged.

``is_public`` is a key column, not an INCLUDE one, so that SQLite has the same index.
At 100,000 releases the two indexes took 2 s to build (36 and 23 MB). The foreign keys'
indexes are dropped by name, not by altering the fields, which SQLite would do by
rebuilding both tables.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("statements", "0021_topicentry_unordered"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="position",
            index=models.Index(
                fields=["release", "stance", "is_public"], name="position_release_stance_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="topicentry",
            index=models.Index(
                fields=["release", "topic", "is_public"], name="topicentry_release_topic_idx"
            ),
        ),
        # The foreign keys' own indexes dropped by name: AlterField would do the same on
        # PostgreSQL, but rebuild both tables on SQLite (dropping the search triggers and
        # the listing indexes written in raw SQL, which statements.apps would then put
        # back and refill after the migration).
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {name}", f"CREATE INDEX {name} ON {table} (release_id)"
                )
                for name, table in (
                    ("statements_position_release_id_6a2fbd11", "statements_position"),
                    ("statements_topicentry_release_id_5ed30d46", "statements_topicentry"),
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="position",
                    name="release",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="positions",
                        to="statements.release",
                        verbose_name="release",
                    ),
                ),
                migrations.AlterField(
                    model_name="topicentry",
                    name="release",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="statements.release",
                    ),
                ),
            ],
        ),
    ]
