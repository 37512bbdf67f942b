"""Put back the listing ordering indexes on SQLite.

Migration 0011 added columns with defaults to the position and release tables,
which SQLite does by rebuilding the tables, and a rebuild drops indexes written
in raw SQL (0007's): every listing page then sorted all public rows. This creates
whichever is missing (nothing on PostgreSQL); statements.apps does the same after
every migrate, should a later migration rebuild a table again.
"""

from django.db import migrations


def restore(apps, schema_editor):
    from statements import listing_schema

    listing_schema.ensure(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("statements", "0011_editorial_desk"),
    ]

    operations = [
        migrations.RunPython(restore, migrations.RunPython.noop),
    ]
