"""Backups and data releases: the whole archive as checksummed JSON Lines files.

:func:`export` writes, into a new directory, one ``.jsonl`` file per kind of
record (see :data:`FILES`) and a ``manifest.json`` that gives the format
version, the schema (latest migration) it was written by, and each file's row
count and SHA-256. Every record that is not derived is in it; derived data
(the listings' copies and topic entries, the search columns and vocabulary,
the listing generation) is not: :func:`restore` rebuilds it. Records are
written in a fixed order (by slug, public identifier, number), one JSON
object a line with sorted keys, so the same archive state gives the same bytes.
The export reads one consistent snapshot (one transaction; on PostgreSQL
REPEATABLE READ) and streams every table, so memory stays flat whatever the
archive's size.

:func:`restore` verifies the manifest and every file, then writes the records
into an empty database in one transaction with ``bulk_create``: no ``save()``
runs, so nothing is re-anchored, no version is recorded, no revision moves on
and no history record is written. Public identifiers (with the register of
every number ever issued, and its sequence), position numbers, versions and
their snapshots come back exactly as they were; the derived data is rebuilt
at the end.

Not in the archive: the edit history (simple_history's tables), user accounts
(only usernames: a missing publisher is restored as an inactive account
without a password), the editorial groups and permissions (migrations create
them).
"""

import datetime
import hashlib
import json
import os
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone, translation

from . import listing, search_schema
from . import search as search_index
from .models import (
    ListingGeneration,
    Position,
    PublicIdentifier,
    Release,
    ReleaseVersion,
    Source,
    Topic,
)

FORMAT = "csto-statements-archive"
FORMAT_VERSION = 1
APP_LABEL = "statements"
MANIFEST = "manifest.json"
# In the order a restore reads them: each refers only to records of the files before it.
FILES = (
    "sources.jsonl",
    "topics.jsonl",
    "identifiers.jsonl",
    "releases.jsonl",
    "positions.jsonl",
    "versions.jsonl",
)
CHUNK = 2000  # rows per database round trip, both ways
RELEASE_CHUNK = 500  # releases carry their texts (2–5 KB, more in memory)

SOURCE_FIELDS = ("slug", "name", "name_en", "kind", "country", "homepage", "aliases")
TOPIC_FIELDS = ("slug", "name_ar", "name_en", "kind", "aliases", "description")  # + parent
# Release fields written as they are; source, relays, merged_into and published_by are
# written as slugs, a public identifier and a username.
RELEASE_FIELDS = (
    "public_id",
    "title",
    "body",
    "body_sha256",
    "import_key",
    "dateline",
    "section_label",
    "url",
    "archived_url",
    "issuing_body",
    "published_on",
    "published_precision",
    "published_inferred",
    "statement_on",
    "statement_precision",
    "statement_inferred",
    "status",
    "withdrawal_reason",
    "merged_positions",
    "first_published_at",
    "published_at",
    "created_at",
    "updated_at",
    "last_position_number",
    "revision",
)
RELEASE_REFERENCES = ("source", "relayed_from", "merged_into", "published_by")
POSITION_FIELDS = (
    "number",
    "start",
    "end",
    "quote",
    "prefix",
    "suffix",
    "stance",
    "summary",
    "attribution",
    "note",
    "orphaned",
    "revision",
    "created_at",
    "updated_at",
)  # + release (public id), topics (slugs)
VERSION_FIELDS = ("number", "created_at", "snapshot", "body_sha256", "changes")  # + release
DATE_FIELDS = {"published_on", "statement_on"}
DATETIME_FIELDS = {"first_published_at", "published_at", "created_at", "updated_at", "issued_at"}
# Columns that are not in the archive because they are rebuilt from the records.
DERIVED = {
    "Release": {"id", "search_tokens", "search_folded", "search_version"},
    "Position": {
        "id",
        "release",
        "topics",
        "search_tokens",
        "search_folded",
        "search_version",
        "is_public",
        "release_date",
        "release_precision",
        "release_public_id",
        "release_source",
        "issuing_body",
    },
}


class ArchiveError(Exception):
    """The archive cannot be written or restored; the message says why and what to do."""


# Values ---------------------------------------------------------------------------------


def _out(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _datetime(value):
    return None if value is None else datetime.datetime.fromisoformat(value)


def _date(value):
    return None if value is None else datetime.date.fromisoformat(value)


def _line(row):
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def schema_version():
    """``statements.<latest migration>``, refusing a database with unapplied migrations."""
    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    if executor.migration_plan(targets):
        raise ArchiveError("The database has unapplied migrations: run `manage.py migrate` first.")
    leaves = [name for app, name in targets if app == APP_LABEL]
    return f"{APP_LABEL}.{leaves[0]}"


def known_schemas():
    loader = MigrationExecutor(connection).loader
    return {f"{app}.{name}" for app, name in loader.graph.nodes if app == APP_LABEL}


def app_version():
    try:
        return metadata.version("csto-statements")
    except metadata.PackageNotFoundError:
        return "unknown"


# Export -----------------------------------------------------------------------------------


class _Writer:
    """One .jsonl file: counts its rows and hashes its bytes as it writes them."""

    def __init__(self, path):
        self.name = path.name
        self.file = path.open("wb")
        self.digest = hashlib.sha256()
        self.rows = 0

    def write(self, row):
        data = _line(row).encode("utf-8")
        self.file.write(data)
        self.digest.update(data)
        self.rows += 1

    def close(self):
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        return {"name": self.name, "rows": self.rows, "sha256": self.digest.hexdigest()}


def _grouped(rows, key):
    """Consume ``rows`` (sorted by ``key``) in step with an outer loop: ``take(k)`` returns
    the rows whose key is ``k`` (a merge join of two sorted streams, in constant memory)."""
    iterator = iter(rows)
    pending = [next(iterator, None)]

    def take(wanted):
        found = []
        while pending[0] is not None and key(pending[0]) == wanted:
            found.append(pending[0])
            pending[0] = next(iterator, None)
        return found

    return take


def prepare_directory(directory):
    directory = Path(directory)
    if directory.exists():
        if not directory.is_dir():
            raise ArchiveError(f"{directory} exists and is not a directory.")
        if any(directory.iterdir()):
            raise ArchiveError(
                f"{directory} is not empty: an archive is written into a new or empty "
                "directory only. Choose another directory."
            )
    else:
        try:
            directory.mkdir(parents=True)
        except OSError as error:
            raise ArchiveError(f"cannot create {directory}: {error}") from None
    return directory


def export(directory, progress=None):
    """Write the archive into ``directory`` (new or empty); return the manifest (a dict)."""
    directory = prepare_directory(directory)
    progress = progress or (lambda name, rows: None)
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                # One snapshot for all files, even while editors work.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        schema = schema_version()
        files = []
        for name, rows in (
            ("sources.jsonl", _sources()),
            ("topics.jsonl", _topics()),
            ("identifiers.jsonl", _identifiers()),
            ("releases.jsonl", _releases()),
            ("positions.jsonl", _positions()),
            ("versions.jsonl", _versions()),
        ):
            writer = _Writer(directory / name)
            try:
                for row in rows:
                    writer.write(row)
            finally:
                files.append(writer.close())
            progress(name, writer.rows)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "app_version": app_version(),
        "schema": schema,
        "created_at": _out(timezone.now()),
        "files": files,
    }
    # Written last: a directory without a manifest is an interrupted export.
    (directory / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2) + "\n",
        encoding="utf-8",
    )
    return manifest


def _sources():
    # Sorted here, by code point: the database's collation differs between backends.
    rows = list(Source.objects.values(*SOURCE_FIELDS))
    yield from sorted(rows, key=lambda row: row["slug"])


def _topics():
    """Parents before children: depth first from the roots, siblings by slug."""
    rows = list(Topic.objects.values(*TOPIC_FIELDS, "pk", "parent_id"))
    by_pk = {row["pk"]: row for row in rows}
    children = {}
    for row in rows:
        children.setdefault(row["parent_id"], []).append(row)
    stack = sorted(children.get(None, []), key=lambda row: row["slug"], reverse=True)
    seen = 0
    while stack:
        row = stack.pop()
        seen += 1
        parent = by_pk.get(row["parent_id"])
        yield {
            **{name: row[name] for name in TOPIC_FIELDS},
            "parent": parent["slug"] if parent else None,
        }
        stack += sorted(children.get(row["pk"], []), key=lambda r: r["slug"], reverse=True)
    if seen != len(rows):
        raise ArchiveError("the topic codebook has a cycle (a topic is its own ancestor).")


def _identifiers():
    rows = PublicIdentifier.objects.order_by("number").values_list("number", "issued_at")
    for number, issued_at in rows.iterator(chunk_size=CHUNK):
        yield {"number": number, "issued_at": _out(issued_at)}


def _releases():
    relays = _grouped(
        Release.relayed_from.through.objects.order_by("release__public_id", "source__slug")
        .values_list("release__public_id", "source__slug")
        .iterator(chunk_size=CHUNK),
        key=lambda row: row[0],
    )
    rows = Release.objects.order_by("public_id").values_list(
        *RELEASE_FIELDS, "source__slug", "merged_into__public_id", "published_by__username"
    )
    n = len(RELEASE_FIELDS)
    for row in rows.iterator(chunk_size=RELEASE_CHUNK):
        item = {name: _out(value) for name, value in zip(RELEASE_FIELDS, row[:n], strict=True)}
        item["source"], item["merged_into"], item["published_by"] = row[n:]
        item["relayed_from"] = sorted(slug for _, slug in relays(item["public_id"]))
        yield item


def _positions():
    topics = _grouped(
        Position.topics.through.objects.order_by("position__release__public_id", "position__number")
        .values_list("position__release__public_id", "position__number", "topic__slug")
        .iterator(chunk_size=CHUNK),
        key=lambda row: row[:2],
    )
    rows = Position.objects.order_by("release__public_id", "number").values_list(
        "release__public_id", *POSITION_FIELDS
    )
    for row in rows.iterator(chunk_size=CHUNK):
        item = {name: _out(value) for name, value in zip(POSITION_FIELDS, row[1:], strict=True)}
        item["release"] = row[0]
        item["topics"] = sorted(slug for *_, slug in topics(row[:2]))
        yield item


def _versions():
    rows = ReleaseVersion.objects.order_by("release__public_id", "number").values_list(
        "release__public_id", *VERSION_FIELDS
    )
    for row in rows.iterator(chunk_size=CHUNK):
        item = {name: _out(value) for name, value in zip(VERSION_FIELDS, row[1:], strict=True)}
        item["release"] = row[0]
        yield item


# Verify -----------------------------------------------------------------------------------


def read_manifest(directory):
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ArchiveError(f"{directory} is not a directory.")
    if not path.is_file():
        raise ArchiveError(
            f"{path} is missing: this is not an archive, or its export did not finish."
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ArchiveError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"{path} is not the manifest of a CSTO statements archive.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveError(
            f"{path}: archive format version {manifest.get('format_version')!r}; this version "
            f"of the application reads format {FORMAT_VERSION} only."
        )
    schema = manifest.get("schema")
    if schema not in known_schemas():
        raise ArchiveError(
            f"{path}: the archive was written by schema {schema!r}, which this version of the "
            "application does not know (a newer version?). Upgrade the application first."
        )
    entries = manifest.get("files")
    names = [entry.get("name") for entry in entries] if isinstance(entries, list) else None
    if names is None or sorted(names) != sorted(FILES):
        raise ArchiveError(f"{path}: the manifest must list exactly {', '.join(FILES)}.")
    manifest["by_name"] = {entry["name"]: entry for entry in entries}
    return manifest


def verify(directory):
    """Check the manifest and every file's row count and SHA-256; return the manifest."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    for name in FILES:
        for _ in _read(directory, manifest, name):
            pass
    return manifest


def _read(directory, manifest, name):
    """The rows of one file, as dicts; raises ArchiveError at the end if the file's count
    or SHA-256 is not the manifest's (a restore rolls back then)."""
    expected = manifest["by_name"][name]
    path = Path(directory) / name
    if not path.is_file():
        raise ArchiveError(f"{path} is missing.")
    digest, rows = hashlib.sha256(), 0
    with path.open("rb") as file:
        for number, line in enumerate(file, start=1):
            digest.update(line)
            rows += 1
            try:
                row = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                raise ArchiveError(
                    f"{name}, line {number}: not valid JSON (the file is damaged)."
                ) from None
            yield row
    if digest.hexdigest() != expected.get("sha256"):
        raise ArchiveError(
            f"{name}: its SHA-256 is not the one in the manifest: the file was changed or "
            "damaged after the export. Restore from an intact copy of the archive."
        )
    if rows != expected.get("rows"):
        raise ArchiveError(
            f"{name}: {rows} rows, the manifest says {expected.get('rows')}: the file is "
            "incomplete or was changed."
        )


# Restore ----------------------------------------------------------------------------------


def existing_records():
    """What makes the database not empty for a restore (a list of descriptions)."""
    found = []
    with translation.override("en"):  # operators' messages are in English
        for model in (Source, Release, PublicIdentifier, ReleaseVersion):
            count = model.objects.count()
            if count:
                found.append(f"{count} {model._meta.verbose_name_plural}")
    return found


@contextmanager
def _stored_timestamps(*models):
    """Let bulk_create keep the archive's created/updated times (auto_now would set now)."""
    saved = []
    for model in models:
        for field in model._meta.concrete_fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                saved.append((field, field.auto_now, field.auto_now_add))
                field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def _batches(rows, size=CHUNK):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Restore:
    def __init__(self, directory, manifest, progress):
        self.directory, self.manifest, self.progress = directory, manifest, progress
        self.sources, self.topics, self.releases, self.users = {}, {}, {}, {}
        self.created_users, self.removed_topics = [], []

    def rows(self, name):
        return _read(self.directory, self.manifest, name)

    def run(self):
        self.restore_sources()
        self.restore_topics()
        self.restore_identifiers()
        with _stored_timestamps(Release, Position):
            self.restore_releases()
            self.restore_positions()
        self.restore_versions()
        # Derived data: listing copies and topic entries (this moves the generation on),
        # the search vocabulary (columns were written with the rows) and search objects.
        listing.refresh()
        search_schema.ensure(connection)
        self.new_generation()

    def restore_sources(self):
        count = 0
        for batch in _batches(self.rows("sources.jsonl")):
            created = Source.objects.bulk_create(
                [Source(**{name: row[name] for name in SOURCE_FIELDS}) for row in batch]
            )
            count += len(created)
        self.sources = dict(Source.objects.values_list("slug", "pk"))
        self.progress("sources.jsonl", count)

    def restore_topics(self):
        """Reconcile with the codebook already there (the starter codebook): by slug,
        taking the archive's names, kinds and parents; topics not in the archive go."""
        rows = list(self.rows("topics.jsonl"))
        wanted = {row["slug"] for row in rows}
        Topic.objects.update(parent=None)
        stray = Topic.objects.exclude(slug__in=wanted)
        self.removed_topics = sorted(stray.values_list("slug", flat=True))
        # No release refers to them (the database has none): deleted without signals or
        # history records, like the rest of the restore.
        stray._raw_delete(stray.db)
        existing = {topic.slug: topic for topic in Topic.objects.all()}
        # Names are unique: move the kept ones out of the way before renaming any.
        for topic in existing.values():
            topic.name_ar, topic.name_en = f"~restore~{topic.pk}", f"~restore~{topic.pk}"
        Topic.objects.bulk_update(existing.values(), ["name_ar", "name_en"])
        new = []
        for row in rows:
            topic = existing.get(row["slug"]) or Topic()
            for name in TOPIC_FIELDS:
                setattr(topic, name, row[name])
            if topic.pk is None:
                new.append(topic)
        Topic.objects.bulk_update(existing.values(), [f for f in TOPIC_FIELDS if f != "slug"])
        Topic.objects.bulk_create(new)
        self.topics = dict(Topic.objects.values_list("slug", "pk"))
        parents = []
        for row in rows:
            if row["parent"] is not None:
                if row["parent"] not in self.topics:
                    raise ArchiveError(f"topics.jsonl: unknown parent {row['parent']!r}.")
                parents.append(
                    Topic(pk=self.topics[row["slug"]], parent_id=self.topics[row["parent"]])
                )
        Topic.objects.bulk_update(parents, ["parent"])
        self.progress("topics.jsonl", len(rows))

    def restore_identifiers(self):
        count = 0
        for batch in _batches(self.rows("identifiers.jsonl")):
            PublicIdentifier.objects.bulk_create(
                [
                    PublicIdentifier(number=row["number"], issued_at=_datetime(row["issued_at"]))
                    for row in batch
                ]
            )
            count += len(batch)
        # The sequence goes on after the highest number ever issued, never below it
        # (PostgreSQL; SQLite's AUTOINCREMENT already follows the explicit numbers).
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), [PublicIdentifier]):
                cursor.execute(statement)
        self.progress("identifiers.jsonl", count)

    def user(self, username):
        if username is None:
            return None
        if username not in self.users:
            model = get_user_model()
            user = model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()
            if user is None:
                # Only the name is archived: an inactive account without a password keeps
                # the attribution; an administrator can activate it.
                user = model(**{model.USERNAME_FIELD: username}, is_active=False)
                user.set_unusable_password()
                user.save()
                self.created_users.append(username)
            self.users[username] = user.pk
        return self.users[username]

    def source(self, slug, where):
        if slug not in self.sources:
            raise ArchiveError(f"{where}: unknown source {slug!r} (not in sources.jsonl).")
        return self.sources[slug]

    def release_pk(self, public_id, where):
        if public_id not in self.releases:
            raise ArchiveError(f"{where}: release {public_id} is not in releases.jsonl.")
        return self.releases[public_id]

    def restore_releases(self):
        """Releases in public-identifier order; a merged duplicate whose kept release
        comes later waits until that one is written (the database insists on the target)."""
        waiting, count = [], 0
        for batch in _batches(self.rows("releases.jsonl"), RELEASE_CHUNK):
            numbers = [row["public_id"] for row in batch]
            issued = set(
                PublicIdentifier.objects.filter(number__in=numbers).values_list("number", flat=True)
            )
            ready = []
            for row in batch:
                if row["public_id"] not in issued:
                    raise ArchiveError(
                        f"releases.jsonl: public identifier {row['public_id']} is not in "
                        "identifiers.jsonl."
                    )
                if row["merged_into"] is not None and row["merged_into"] not in self.releases:
                    waiting.append(row)
                else:
                    ready.append(row)
            count += self._insert_releases(ready)
        while waiting:
            ready = [row for row in waiting if row["merged_into"] in self.releases]
            if not ready:
                missing = ", ".join(str(row["public_id"]) for row in waiting[:10])
                raise ArchiveError(
                    f"releases.jsonl: releases {missing} are merged into releases that are "
                    "not in the archive (or into each other)."
                )
            waiting = [row for row in waiting if row["merged_into"] not in self.releases]
            count += self._insert_releases(ready)
        self.progress("releases.jsonl", count)

    def _insert_releases(self, rows):
        if not rows:
            return 0
        objects, vocabulary = [], set()
        for row in rows:
            where = f"releases.jsonl, release {row['public_id']}"
            values = {name: row[name] for name in RELEASE_FIELDS}
            for name in DATE_FIELDS:
                values[name] = _date(values[name])
            for name in DATETIME_FIELDS & values.keys():
                values[name] = _datetime(values[name])
            if Release.fingerprint(values["body"]) != values["body_sha256"]:
                raise ArchiveError(f"{where}: the text does not match its SHA-256.")
            release = Release(
                **values,
                source_id=self.source(row["source"], where),
                merged_into_id=(
                    None
                    if row["merged_into"] is None
                    else self.release_pk(row["merged_into"], where)
                ),
                published_by_id=self.user(row["published_by"]),
            )
            fields, surfaces = search_index.search_fields(
                *(getattr(release, name) for name in Release.SEARCHED_FIELDS)
            )
            for name, value in fields.items():
                setattr(release, name, value)
            vocabulary |= surfaces
            objects.append(release)
        Release.objects.bulk_create(objects)
        for release in objects:
            self.releases[release.public_id] = self._pk(release)
        relays = Release.relayed_from.through
        relays.objects.bulk_create(
            [
                relays(
                    release_id=self.releases[row["public_id"]],
                    source_id=self.source(slug, f"releases.jsonl, release {row['public_id']}"),
                )
                for row in rows
                for slug in row["relayed_from"]
            ]
        )
        search_index.record_terms(vocabulary)
        return len(objects)

    @staticmethod
    def _pk(release):
        if release.pk is None:  # a database that does not return ids from bulk inserts
            release.pk = Release.objects.values_list("pk", flat=True).get(
                public_id=release.public_id
            )
        return release.pk

    def restore_positions(self):
        count = 0
        links = Position.topics.through
        for batch in _batches(self.rows("positions.jsonl")):
            objects, vocabulary = [], set()
            for row in batch:
                where = f"positions.jsonl, position {row['release']}#p{row['number']}"
                values = {name: row[name] for name in POSITION_FIELDS}
                for name in ("created_at", "updated_at"):
                    values[name] = _datetime(values[name])
                position = Position(**values, release_id=self.release_pk(row["release"], where))
                fields, surfaces = search_index.search_fields(
                    *(getattr(position, name) for name in Position.SEARCHED_FIELDS)
                )
                for name, value in fields.items():
                    setattr(position, name, value)
                vocabulary |= surfaces
                objects.append(position)
            Position.objects.bulk_create(objects)
            for position in objects:
                if position.pk is None:  # a database that does not return ids from bulk inserts
                    position.pk = Position.objects.values_list("pk", flat=True).get(
                        release_id=position.release_id, number=position.number
                    )
            link_rows = []
            for row, position in zip(batch, objects, strict=True):
                for slug in row["topics"]:
                    if slug not in self.topics:
                        raise ArchiveError(
                            f"positions.jsonl, position {row['release']}#p{row['number']}: "
                            f"unknown topic {slug!r} (not in topics.jsonl)."
                        )
                    link_rows.append(links(position_id=position.pk, topic_id=self.topics[slug]))
            links.objects.bulk_create(link_rows)
            search_index.record_terms(vocabulary)
            count += len(objects)
        self.progress("positions.jsonl", count)

    def restore_versions(self):
        count = 0
        for batch in _batches(self.rows("versions.jsonl")):
            ReleaseVersion.objects.bulk_create(
                [
                    ReleaseVersion(
                        release_id=self.release_pk(
                            row["release"], f"versions.jsonl, version {row['release']}/v"
                        ),
                        number=row["number"],
                        created_at=_datetime(row["created_at"]),
                        snapshot=row["snapshot"],
                        body_sha256=row["body_sha256"],
                        changes=row["changes"],
                    )
                    for row in batch
                ]
            )
            count += len(batch)
        self.progress("versions.jsonl", count)

    @staticmethod
    def new_generation():
        """A listing generation no earlier state of this database (or the cache) used:
        cached counts and readers' validators from before the restore never match."""
        now = timezone.now()
        current = ListingGeneration.objects.filter(pk=1).values_list("value", flat=True).first()
        value = max((current or 0) + 1, int(time.time() * 1000))
        ListingGeneration.objects.update_or_create(
            pk=1, defaults={"value": value, "changed_at": now}
        )


def restore(directory, progress=None):
    """Verify the archive in ``directory`` and restore it into this (empty) database.

    Returns a dict: manifest, created_users (usernames restored as inactive accounts),
    removed_topics (codebook entries not in the archive, deleted).
    """
    directory = Path(directory)
    progress = progress or (lambda name, rows: None)
    manifest = verify(directory)
    schema_version()  # refuses a database with unapplied migrations
    job = _Restore(directory, manifest, progress)
    with transaction.atomic():
        found = existing_records()
        if found:
            raise ArchiveError(
                "The database is not empty (" + ", ".join(found) + "): an archive is "
                "restored into an empty database only. Create a new database, run "
                "`manage.py migrate`, and import into it."
            )
        try:
            job.run()
        except (KeyError, TypeError, ValueError, IntegrityError) as error:
            # Checksums matched, so the files are as exported: records that do not fit
            # (a hand-made or edited archive, or one from an incompatible version).
            raise ArchiveError(
                f"the archive's records cannot be restored ({type(error).__name__}: {error}); "
                "nothing was written."
            ) from error
    return {
        "manifest": manifest,
        "created_users": job.created_users,
        "removed_topics": job.removed_topics,
    }
