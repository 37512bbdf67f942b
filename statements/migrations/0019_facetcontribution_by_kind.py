"""Index each release's count shares by kind too: (release_id, kind), replacing (release_id).

Every sum of a derived kind (statements.counts.DERIVED) reads one kind's shares of the
releases recounted (``a.kind = 'rty' AND a.release_id BETWEEN ...``) joined to another
kind's (``b.release_id = a.release_id AND b.kind = 'r'``). With release_id alone, each
release's shares (about 210 at 100,000 releases, of 7 stored kinds) were read from the
table to keep the few of the kind wanted. SQLite's plan with this index (EXPLAIN QUERY
PLAN, 20,000 releases): ``SEARCH b USING INDEX facetcontribution_kind_idx
(release_id>? AND release_id<?)``, the kind checked in the index's entries rather than in
the rows; ``SEARCH a USING INDEX facetcontribution_kind_idx (release_id=? AND kind=?)``,
only that kind's shares; ``USE TEMP B-TREE FOR GROUP BY``. The sums of 20,000 releases by
chunks of 2,000 (statements.counts.rebuild): 178 → 136 s. The index is barely larger (the
kind, a short text, in each entry) and serves every lookup the old one did (release_id
first: a recount deletes a release's shares by it). On PostgreSQL it is built without
CONCURRENTLY (about 30 s at 100,000 releases, 21 million shares), during which recounts
wait: migrate when no editor is publishing.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("statements", "0018_search_columns_lz4"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="facetcontribution",
            index=models.Index(fields=["release_id", "kind"], name="facetcontribution_kind_idx"),
        ),
        migrations.RemoveIndex(
            model_name="facetcontribution",
            name="facetcontribution_release_idx",
        ),
    ]
