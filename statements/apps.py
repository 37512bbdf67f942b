from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

SEARCH_MIGRATION = ("statements", "0004_search_index")


def ensure_search_index(sender, using, **kwargs):
    """Put back search triggers that a SQLite table rebuild dropped (see search_schema)."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from . import search_schema

    connection = connections[using]
    if SEARCH_MIGRATION not in MigrationRecorder(connection).applied_migrations():
        return
    if search_schema.ensure(connection) and kwargs.get("verbosity", 1) >= 1:
        print("Search index objects were missing and have been recreated and refilled.")


class StatementsConfig(AppConfig):
    name = "statements"
    verbose_name = _("CSTO statements")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks, signals  # noqa: F401  (registers the checks and signal handlers)

        post_migrate.connect(ensure_search_index, sender=self)
