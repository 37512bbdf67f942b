"""Listing entries carry the listing's ordering (release's public id, position's number),
and a topic's entries are indexed in the order of "newest first".

A page of positions on one topic read every public entry of the topic (and stance),
then each position by its key, sorted them all and kept 21. SQLite's plan: ``SEARCH U0
USING INDEX topicentry_public_idx (topic_id=? AND stance=?)`` under ``LIST SUBQUERY``,
then ``USE TEMP B-TREE FOR ORDER BY``. With the ordering in the entries and this index,
a page walks the topic's entries newest first from its cursor, checks the other filters
in the index's entries, and stops after the page (statements.paging.Walk); the positions
are then read by key. The plan: ``SEARCH U0 USING INDEX topicentry_newest_idx
(topic_id=? AND release_date>? AND release_date<?)``, no sort. At 100,000 releases on
SQLite, the commonest topic's listing page 375 → 16 ms, with a stance and a decade
52 → 16 ms, its topic page 367 → 11 ms; on PostgreSQL, whose planner walked the
positions' own ordering index for a common topic already, the page with a stance and a
decade 53 → 18 ms, the others unchanged (bench/RESULTS.md, ninth run).

The new columns are filled here from the positions' copies, in one statement; the index
definitions are repeated from statements.listing_schema on purpose (a migration must not
change when the module does). At 100,000 releases (1,354,500 entries) the fill and the
index took 11 s on SQLite and 25 s on PostgreSQL (with 0021), during which edits wait;
on PostgreSQL the fill leaves a dead version of every entry for autovacuum (or run
``VACUUM ANALYZE statements_topicentry``: 2 s). Workers still running older code until
the restart write entries without the new columns: migration 0021 says why that is safe.
"""

from django.db import migrations, models

INDEX = {
    "postgresql": "ON statements_topicentry "
    "(topic_id, release_date DESC NULLS LAST, release_public_id DESC, number) "
    "INCLUDE (position_id, stance, issuing_body, release_precision) WHERE is_public",
    "sqlite": "ON statements_topicentry "
    "(topic_id, release_date DESC, release_public_id DESC, number, "
    "stance, issuing_body, release_precision, position_id) WHERE is_public = 1",
}
FILL = {
    "postgresql": "UPDATE statements_topicentry e "
    "SET release_public_id = p.release_public_id, number = p.number "
    "FROM statements_position p WHERE p.id = e.position_id",
    "sqlite": "UPDATE statements_topicentry "
    "SET release_public_id = p.release_public_id, number = p.number "
    "FROM statements_position p WHERE p.id = statements_topicentry.position_id",
}


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor in FILL:
        schema_editor.execute(FILL[vendor])
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS topicentry_newest_idx {INDEX[vendor]}")


def backward(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS topicentry_newest_idx")


class Migration(migrations.Migration):
    dependencies = [
        ("statements", "0019_facetcontribution_by_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="topicentry",
            name="release_public_id",
            field=models.PositiveBigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="topicentry",
            name="number",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.RunPython(forward, backward),
    ]
