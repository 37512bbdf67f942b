"""Index the listing entries that lack the listing's ordering (none, normally).

Between ``migrate`` and the restart that follows it, workers still running the code from
before migration 0020 write entries without the release's public id and the position's
number; so would code rolled back without migrating back. A page that walked such a
topic's entries (statements.paging.Walk) would leave those positions out, or misplace
them. So a listing checks, once per generation, whether any entry lacks them, and reads
every entry of the topic instead while some do; the next edit by current code fills them
(statements.listing.entries_ordered, _fill_ordering). This partial index holds just those
entries: empty, it answers both at once.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("statements", "0020_topicentry_ordering"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="topicentry",
            index=models.Index(
                fields=["topic"],
                condition=models.Q(number=None) | models.Q(release_public_id=None),
                name="topicentry_unordered_idx",
            ),
        ),
    ]
