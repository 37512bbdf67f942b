from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

SEARCH_MIGRATION = ("statements", "0004_search_index")
LISTING_MIGRATION = ("statements", "0007_listing_copies")
COUNTS_MIGRATION = ("statements", "0015_facet_pairs")


def ensure_search_index(sender, using, **kwargs):
    """Put back search triggers and listing indexes that a SQLite table rebuild dropped
    (see search_schema and listing_schema), and recount the count tables if what
    computes them changed (statements.counts.ensure)."""
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.recorder import MigrationRecorder

    from . import listing_schema, search_schema

    connection = connections[using]
    applied = MigrationRecorder(connection).applied_migrations()
    verbose = kwargs.get("verbosity", 1) >= 1
    if SEARCH_MIGRATION in applied and search_schema.ensure(connection) and verbose:
        print("Search index objects were missing and have been recreated and refilled.")
    if LISTING_MIGRATION in applied:
        created = listing_schema.ensure(connection)
        if created and verbose:
            print(f"Listing indexes were missing and have been recreated: {', '.join(created)}.")
    if COUNTS_MIGRATION in applied and using == DEFAULT_DB_ALIAS:
        from . import counts

        if counts.ensure() and verbose:
            print("The count tables were computed by other code and have been recounted.")


class StatementsConfig(AppConfig):
    name = "statements"
    verbose_name = _("CSTO statements")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks, signals  # noqa: F401  (registers the checks and signal handlers)

        post_migrate.connect(ensure_search_index, sender=self)
