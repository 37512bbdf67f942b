"""System checks of the deployment (run by `manage.py check --deploy`) and the database."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import connections
from django.db.utils import OperationalError


@register(Tags.security, deploy=True)
def secret_key_from_environment(app_configs, **kwargs):
    if settings.SECRET_KEY == getattr(settings, "INSECURE_DEVELOPMENT_KEY", None):
        return [
            Error(
                "DJANGO_SECRET_KEY is not set: the development key from the repository is in use.",
                hint="Set DJANGO_SECRET_KEY to a long random value (see the README).",
                id="csto.E001",
            )
        ]
    return []


@register(Tags.database)
def postgresql_locale(app_configs, databases=None, **kwargs):
    """Arabic search needs a PostgreSQL database whose LC_CTYPE is not 'C'.

    Under LC_CTYPE=C, PostgreSQL's text search glues Arabic punctuation onto
    words and pg_trgm makes no trigrams of Arabic letters.
    """
    errors = []
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT datctype FROM pg_database WHERE datname = current_database()"
                )
                (ctype,) = cursor.fetchone()
        except OperationalError:
            continue
        if ctype.upper() in {"C", "POSIX"}:
            errors.append(
                Error(
                    f"Database {alias!r} has LC_CTYPE {ctype!r}; Arabic text search needs a "
                    "UTF-8 locale.",
                    hint="Create it with: createdb --locale=C.UTF-8 --template=template0 NAME",
                    id="csto.E002",
                )
            )
    return errors


@register(Tags.database)
def sqlite_full_text_search(app_configs, databases=None, **kwargs):
    """Search on SQLite needs FTS5 with the trigram tokenizer (SQLite 3.34 or newer)."""
    import sqlite3

    errors = []
    for alias in databases or []:
        if connections[alias].vendor != "sqlite":
            continue
        probe = sqlite3.connect(":memory:")
        try:
            probe.execute("CREATE VIRTUAL TABLE probe USING fts5(x, tokenize='trigram')")
        except sqlite3.OperationalError as error:
            errors.append(
                Error(
                    f"SQLite {sqlite3.sqlite_version} lacks FTS5 with the trigram tokenizer "
                    f"({error}); search needs SQLite 3.34 or newer built with FTS5.",
                    hint="Use a Python built against a newer SQLite, or PostgreSQL.",
                    id="csto.E003",
                )
            )
        finally:
            probe.close()
    return errors
