"""The search index's database objects, per backend (see statements.search).

On PostgreSQL the tokens are also kept as a stored generated tsvector column,
``search_vector``, which Django's models do not declare: the database fills
it. Created and dropped by migration 0004; ``ensure`` runs after every migrate:
on SQLite, Django rebuilds a table to alter it and the rebuild drops its
triggers, so ``ensure`` puts back whatever is missing and rebuilds the FTS
tables it had to repair. ``rebuild`` refills them (``reindex_search``).

GinIndex in Meta.indexes would break SQLite; these objects are created here,
branching on the database vendor, in both directions.
"""

SEARCHABLE_TABLES = ("statements_release", "statements_position")
VOCABULARY = "statements_searchterm"


def _sqlite_objects():
    objects = []
    for table in SEARCHABLE_TABLES:
        for suffix, column, tokenizer in (
            ("fts", "search_tokens", "unicode61 remove_diacritics 0"),
            ("trgm", "search_folded", "trigram"),
        ):
            fts = f"{table}_{suffix}"
            objects.append(
                (
                    "table",
                    fts,
                    f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({column}, "
                    f"content='{table}', content_rowid='id', tokenize='{tokenizer}')",
                )
            )
            objects += _sqlite_triggers(table, fts, column)
    fts = f"{VOCABULARY}_trgm"
    objects.append(
        (
            "table",
            fts,
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(term, "
            f"content='{VOCABULARY}', content_rowid='id', tokenize='trigram')",
        )
    )
    objects += _sqlite_triggers(VOCABULARY, fts, "term")
    return objects


def _sqlite_triggers(table, fts, column):
    insert = f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column});"
    delete = f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column});"
    return [
        ("trigger", f"{fts}_ai",
         f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN {insert} END"),
        ("trigger", f"{fts}_ad",
         f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN {delete} END"),
        ("trigger", f"{fts}_au",
         f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {column} ON {table} "
         f"BEGIN {delete} {insert} END"),
    ]  # fmt: skip


def _postgresql_statements():
    statements = ["CREATE EXTENSION IF NOT EXISTS pg_trgm"]
    for table in SEARCHABLE_TABLES:
        statements += [
            # Stored, so that matching and ranking never parse a row's tokens.
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', search_tokens)) STORED",
            f"CREATE INDEX IF NOT EXISTS {table}_search_vector_gin ON {table} "
            "USING gin (search_vector)",
            f"CREATE INDEX IF NOT EXISTS {table}_search_folded_trgm ON {table} "
            "USING gin (search_folded gin_trgm_ops)",
        ]
    statements.append(
        f"CREATE INDEX IF NOT EXISTS {VOCABULARY}_term_trgm ON {VOCABULARY} "
        "USING gin (term gin_trgm_ops)"
    )
    return statements


def lz4_available(cursor):
    """Whether this PostgreSQL was built with LZ4 (14 and later may be)."""
    cursor.execute(
        "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
        "AND 'lz4' = ANY(enumvals)"
    )
    return cursor.fetchone() is not None


def create(connection):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Rows updated earlier in this transaction leave deferred foreign-key
            # checks pending, and PostgreSQL refuses CREATE INDEX until they run.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for statement in _postgresql_statements():
                cursor.execute(statement)
            if lz4_available(cursor):
                # As migration 0018 left the column (its docstring has the figures): a
                # column added again would take the server's default compression.
                for table in SEARCHABLE_TABLES:
                    cursor.execute(
                        f"ALTER TABLE {table} ALTER COLUMN search_vector SET COMPRESSION lz4"
                    )
        elif connection.vendor == "sqlite":
            for _, _, statement in _sqlite_objects():
                cursor.execute(statement)
    rebuild(connection)


def drop(connection):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in SEARCHABLE_TABLES:
                cursor.execute(f"DROP INDEX IF EXISTS {table}_search_vector_gin")
                cursor.execute(f"DROP INDEX IF EXISTS {table}_search_folded_trgm")
                cursor.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")
            cursor.execute(f"DROP INDEX IF EXISTS {VOCABULARY}_term_trgm")
        elif connection.vendor == "sqlite":
            for kind, name, _ in reversed(_sqlite_objects()):
                cursor.execute(f"DROP {kind.upper()} IF EXISTS {name}")


def rebuild(connection):
    """Refill the SQLite FTS tables from their content tables (PostgreSQL needs nothing)."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for kind, name, _ in _sqlite_objects():
            if kind == "table":
                cursor.execute(f"INSERT INTO {name}({name}) VALUES ('rebuild')")


def missing(connection):
    """Names of search objects that should exist and do not."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
            present = {row[0] for row in cursor.fetchall()}
            return [name for _, name, _ in _sqlite_objects() if name not in present]
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
            present = {row[0] for row in cursor.fetchall()}
            wanted = [f"{t}_search_vector_gin" for t in SEARCHABLE_TABLES]
            wanted += [f"{t}_search_folded_trgm" for t in SEARCHABLE_TABLES]
            wanted.append(f"{VOCABULARY}_term_trgm")
            return [name for name in wanted if name not in present]
    return []


def ensure(connection):
    """Recreate missing search objects (after a table rebuild) and refill the index."""
    if missing(connection):
        create(connection)
        return True
    return False
