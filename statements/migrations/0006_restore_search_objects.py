"""Put back the search index objects that SQLite drops when 0005 rebuilds the release table.

SQLite cannot add a column with a constraint in place: Django rebuilds the
table, and the FTS triggers on it go with the old table. Without this step the
post_migrate check (statements.apps) put them back, and said so, on every fresh
install. On PostgreSQL nothing is missing and this does nothing.
"""

from django.db import migrations


def restore(apps, schema_editor):
    from statements import search_schema

    search_schema.ensure(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("statements", "0005_import_key")]

    operations = [migrations.RunPython(restore, migrations.RunPython.noop)]
