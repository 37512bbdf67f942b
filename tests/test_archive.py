"""Backups and data releases (statements.archive): export_archive writes the archive as
checksummed JSON Lines; import_archive restores it into an empty database so that every
permalink, public identifier, position number and version is what it was.

A round trip: build an archive state, export it, empty the database (as a fresh, migrated
database is: only the starter codebook), import, and compare the exporter's output and
the public pages before and after."""

import datetime
import json
import random
import re

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import connection
from django.test import Client

from statements import archive, listing
from statements.corpus import generate
from statements.demo import load_demo
from statements.merging import merge
from statements.models import (
    ListingGeneration,
    Position,
    PublicIdentifier,
    Release,
    ReleaseVersion,
    SearchTerm,
    Source,
    Topic,
    TopicEntry,
)
from tests.factories import make_position, make_release, make_source, make_topic, make_user

pytestmark = pytest.mark.django_db

CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*"')


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what an edit does when it commits (versions are recorded then)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


# Helpers ----------------------------------------------------------------------------------


def export(directory):
    call_command("export_archive", str(directory), verbosity=0)
    return directory


def dump(directory):
    """The exporter's output as bytes per file, the manifest without its created_at."""
    export(directory)
    files = {name: (directory / name).read_bytes() for name in archive.FILES}
    manifest = json.loads((directory / archive.MANIFEST).read_text(encoding="utf-8"))
    assert sorted(p.name for p in directory.iterdir()) == sorted([*archive.FILES, "manifest.json"])
    del manifest["created_at"]
    return manifest, files


def words(body, first, count):
    """A passage of ``count`` whole words of ``body``, from word ``first``."""
    spans = [m.span() for m in re.finditer(r"\S+", body)]
    return body[spans[first][0] : spans[first + count - 1][1]]


def raw_delete(queryset):
    queryset._raw_delete(queryset.db)


def empty_database():
    """What a new, migrated database holds: no records, the starter codebook, a fresh
    sequence of public identifiers, no history, no cached counts."""
    raw_delete(TopicEntry.objects.all())
    raw_delete(Position.topics.through.objects.all())
    raw_delete(ReleaseVersion.objects.all())
    raw_delete(Position.objects.all())
    raw_delete(Release.relayed_from.through.objects.all())
    raw_delete(Release.objects.all())
    raw_delete(PublicIdentifier.objects.all())
    raw_delete(Source.objects.all())
    raw_delete(SearchTerm.objects.all())
    raw_delete(ListingGeneration.objects.all())
    for model in history_models():
        raw_delete(model.objects.all())
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "DELETE FROM sqlite_sequence WHERE name = %s", [PublicIdentifier._meta.db_table]
            )
        for statement in connection.ops.sequence_reset_sql(no_style(), [PublicIdentifier]):
            cursor.execute(statement)
    cache.clear()


def history_models():
    return sorted(
        (m for m in apps.get_app_config("statements").get_models() if "Historical" in m.__name__),
        key=lambda m: "_" not in m._meta.db_table.removeprefix("statements_"),
    )


def page(client, url):
    response = client.get(url)
    body = b"" if response.streaming else response.content
    return (
        response.status_code,
        response.headers.get("Location"),
        CSRF.sub(r'\1"', body.decode("utf-8")),
    )


def public_urls(every=1):
    """The public pages of the archive (of every ``every``-th release)."""
    urls = ["/", "/releases/", "/positions/", "/topics/", "/releases/?q=سورية"]
    for release in Release.objects.order_by("public_id")[::every]:
        base = f"/r/{release.public_id}/"
        urls += [base, f"{base}changes/", f"{base}cite.json", f"{base}cite.bib"]
        urls += [f"{base}v/{n}/" for n in release.versions.values_list("number", flat=True)]
        numbers = set(release.positions.values_list("number", flat=True))
        numbers |= {int(n) for n in release.merged_positions}
        urls += [f"{base}p/{n}/" for n in sorted(numbers)]
    urls += [f"/topics/{slug}/" for slug in Topic.objects.values_list("slug", flat=True)]
    urls += [s.get_absolute_url() for s in Source.objects.all()]
    return urls


def pages(urls):
    client = Client()
    return {url: page(client, url) for url in urls}


def round_trip(tmp_path, django_capture_on_commit_callbacks, on_empty=None, every=1):
    """Export, empty, import; assert that the archive and the public pages are unchanged."""
    urls = public_urls(every)
    before_pages = pages(urls)
    assert any(status == 200 for status, _, _ in before_pages.values())
    before = dump(tmp_path / "before")
    issued = max(PublicIdentifier.objects.values_list("number", flat=True))
    releases, versions = Release.objects.count(), ReleaseVersion.objects.count()

    empty_database()
    if on_empty:
        on_empty()
    history = {m: m.objects.count() for m in history_models()}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call_command("import_archive", str(tmp_path / "before"), verbosity=0)
    assert callbacks == []  # nothing left to record a version when the import commits

    assert dump(tmp_path / "after") == before
    assert (Release.objects.count(), ReleaseVersion.objects.count()) == (releases, versions)
    assert {m: m.objects.count() for m in history_models()} == history  # no history noise
    assert listing.drift() == []
    assert pages(urls) == before_pages
    return issued


# Archive states ---------------------------------------------------------------------------


BODY = (
    "أعربت بلدان منظمة معاهدة الأمن الجماعي عن تأييدها لجهود التسوية السياسية في سورية.\n"
    "وأكدت المنظمة دعمها لسيادة الدول ووحدة أراضيها."
)


@pytest.fixture
def edited_archive(commit):
    """The demo archive with every kind of record a restore must bring back."""
    with commit():
        demo = load_demo()
    kept = Release.objects.get(pk=demo[0].pk)
    agency = make_source(slug="وكالة-تجريبية", name="وكالة تجريبية", name_en="Test agency")
    child = make_topic(slug="archive-child", parent=Topic.objects.get(slug="sovereignty"))
    Topic.objects.filter(slug="terrorism").update(name_en="Terrorism (restored name)")

    # A published release corrected once: two versions.
    with commit():
        corrected = make_release(
            body=BODY,
            source=agency,
            dateline="موسكو",
            published_on=datetime.date(2019, 5, 1),
            published_precision="month",
        )
        make_position(corrected, quote="تأييدها لجهود التسوية", topics=[child])
        corrected.relayed_from.set([kept.source])
    with commit():
        corrected.refresh_from_db()
        corrected.dateline = "أستانا"
        corrected.save()
    assert corrected.versions.count() == 2

    # A withdrawn release.
    with commit():
        withdrawn = make_release(body=BODY + " وانتهى.", source=agency)
        make_position(withdrawn, quote="وحدة أراضيها")
    with commit():
        withdrawn.refresh_from_db()
        withdrawn.status, withdrawn.withdrawal_reason = Release.Status.WITHDRAWN, "نشر خطأ."
        withdrawn.save()

    # A duplicate of a demo release, merged into it: one of its positions is the kept
    # release's, one is copied there (a new version of the kept release).
    kept_position = kept.positions.order_by("number").first()
    with commit():
        duplicate = make_release(body=kept.body, source=agency)
        make_position(
            duplicate,
            quote=kept_position.quote,
            start=kept_position.start,
            end=kept_position.end,
            stance=kept_position.stance,
        )
        make_position(duplicate, quote=words(kept.body, 3, 6), stance=Position.Stance.NOTES)
    with commit():
        assert merge(duplicate, kept) == []

    # A published release whose correction orphaned a position.
    with commit():
        orphaning = make_release(body=BODY, source=agency)
        make_position(orphaning, quote="وأكدت المنظمة دعمها")
        make_position(orphaning, quote="في سورية")
    with commit():
        orphaning.refresh_from_db()
        orphaning.body = BODY.split("\n")[0]
        orphaning.save()
    assert orphaning.positions.filter(orphaned=True).count() == 1

    # A deleted draft: its public identifier stays issued.
    draft = make_release(status=Release.Status.DRAFT, body=BODY, source=agency)
    deleted = draft.public_id
    draft.delete()
    # A draft with a position, and a release published by a user.
    make_position(make_release(status=Release.Status.DRAFT, body=BODY + " مسودة."))
    publisher = make_user("publishers", username="publisher-a")
    Release.objects.filter(pk=kept.pk).update(published_by=publisher)
    return {"deleted": deleted, "kept": kept, "duplicate": duplicate}


def reset_codebook():
    """As in a new database: the starter codebook, without this test's changes, and with a
    topic the archive does not have."""
    raw_delete(Topic.objects.filter(slug="archive-child"))
    Topic.objects.filter(slug="terrorism").update(name_en="Terrorism")
    make_topic(slug="not-in-archive")
    get_user_model().objects.filter(username="publisher-a").delete()


# Tests ------------------------------------------------------------------------------------


def test_the_demo_archive_round_trips(edited_archive, tmp_path, django_capture_on_commit_callbacks):
    issued = round_trip(tmp_path, django_capture_on_commit_callbacks, on_empty=reset_codebook)
    # The deleted draft's number is still issued; merged and withdrawn permalinks answer.
    assert PublicIdentifier.objects.filter(number=edited_archive["deleted"]).exists()
    duplicate = Release.objects.get(public_id=edited_archive["duplicate"].public_id)
    assert duplicate.merged_into.public_id == edited_archive["kept"].public_id
    assert Client().get(f"/r/{duplicate.public_id}/").status_code == 301
    assert not Topic.objects.filter(slug="not-in-archive").exists()
    publisher = get_user_model().objects.get(username="publisher-a")
    assert not publisher.is_active and not publisher.has_usable_password()
    # Search works on the restored records.
    assert SearchTerm.objects.exists()
    # A new release gets a number never issued before, and new positions fresh numbers.
    new = make_release()
    assert new.public_id > issued
    kept = Release.objects.get(public_id=edited_archive["kept"].public_id)
    assert make_position(kept, quote=words(kept.body, 10, 4)).number == kept.last_position_number
    assert len(duplicate.merged_positions) == 2
    assert kept.last_position_number > max(duplicate.merged_positions.values())


def test_a_generated_corpus_round_trips(tmp_path, commit, django_capture_on_commit_callbacks):
    rng = random.Random(8)
    sources = [make_source() for _ in range(4)]
    topics = list(Topic.objects.order_by("slug"))
    for item in generate(50, seed=8):
        with commit():
            release = make_release(
                title=item["title"],
                body=item["body"],
                dateline=item["dateline"],
                source=rng.choice(sources),
                published_on=datetime.date(item["year"], 1, 1),
                published_precision="year",
                status="published" if rng.random() < 0.9 else "draft",
            )
            release.relayed_from.set(rng.sample(sources, rng.randint(0, 2)))
            words = [m.span() for m in re.finditer(r"\S+", release.body)]
            for _ in range(rng.randint(1, 3)):
                first = rng.randrange(len(words) - 8)
                start, end = words[first][0], words[first + rng.randint(1, 6)][1]
                make_position(
                    release,
                    quote=release.body[start:end],
                    start=start,
                    end=end,
                    topics=rng.sample(topics, rng.randint(1, 2)),
                )
    assert Release.objects.count() == 50
    issued = round_trip(tmp_path, django_capture_on_commit_callbacks, every=5)
    assert make_release().public_id == issued + 1


def test_the_archive_files(edited_archive, tmp_path):
    export(tmp_path / "a")
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert (manifest["format"], manifest["format_version"]) == (archive.FORMAT, 1)
    assert manifest["schema"].startswith("statements.0")
    rows = {
        name: [json.loads(line) for line in (tmp_path / "a" / name).read_text().splitlines()]
        for name in archive.FILES
    }
    assert {f["name"]: f["rows"] for f in manifest["files"]} == {
        name: len(lines) for name, lines in rows.items()
    }
    assert edited_archive["deleted"] in [row["number"] for row in rows["identifiers.jsonl"]]
    seen = set()
    for topic in rows["topics.jsonl"]:  # parents before children
        assert topic["parent"] is None or topic["parent"] in seen
        seen.add(topic["slug"])
    public_ids = [row["public_id"] for row in rows["releases.jsonl"]]
    assert public_ids == sorted(public_ids)
    statuses = {row["status"] for row in rows["releases.jsonl"]}
    assert {"published", "withdrawn", "merged", "draft"} <= statuses
    merged = next(row for row in rows["releases.jsonl"] if row["status"] == "merged")
    assert merged["merged_into"] == edited_archive["kept"].public_id
    assert "publisher-a" in {row["published_by"] for row in rows["releases.jsonl"]}
    assert any(row["orphaned"] for row in rows["positions.jsonl"])


def test_every_stored_field_is_exported_or_derived():
    exported = {
        Release: {*archive.RELEASE_FIELDS, *archive.RELEASE_REFERENCES},
        Position: {*archive.POSITION_FIELDS, *archive.DERIVED["Position"]},
        Source: {*archive.SOURCE_FIELDS, "id"},
        Topic: {*archive.TOPIC_FIELDS, "parent", "id"},
        ReleaseVersion: {*archive.VERSION_FIELDS, "release", "id"},
        PublicIdentifier: {"number", "issued_at"},
    }
    exported[Release] |= archive.DERIVED["Release"]
    for model, names in exported.items():
        fields = {f.name for f in model._meta.get_fields() if f.concrete}
        assert fields <= names, (model, fields - names)


def test_a_tampered_file_is_refused(demo, tmp_path):
    export(tmp_path / "a")
    path = tmp_path / "a" / "positions.jsonl"
    text = path.read_text(encoding="utf-8")
    assert '"number":1,' in text
    path.write_text(text.replace('"number":1,', '"number":9,', 1), encoding="utf-8")
    empty_database()
    with pytest.raises(CommandError, match=r"positions\.jsonl.*SHA-256"):
        call_command("import_archive", str(tmp_path / "a"), verbosity=0)
    with pytest.raises(CommandError, match=r"positions\.jsonl"):
        call_command("import_archive", "--verify-only", str(tmp_path / "a"), verbosity=0)
    assert not Release.objects.exists()


def test_a_truncated_file_and_a_missing_manifest_are_refused(demo, tmp_path):
    export(tmp_path / "a")
    path = tmp_path / "a" / "releases.jsonl"
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:-1]))
    empty_database()
    with pytest.raises(CommandError, match=r"releases\.jsonl"):
        call_command("import_archive", str(tmp_path / "a"), verbosity=0)
    (tmp_path / "a" / "manifest.json").unlink()
    with pytest.raises(CommandError, match=r"manifest\.json is missing"):
        call_command("import_archive", str(tmp_path / "a"), verbosity=0)
    assert not Release.objects.exists() and not PublicIdentifier.objects.exists()


def test_a_non_empty_database_is_refused(demo, tmp_path):
    export(tmp_path / "a")
    count = Release.objects.count()
    with pytest.raises(CommandError, match="not empty"):
        call_command("import_archive", str(tmp_path / "a"), verbosity=0)
    assert Release.objects.count() == count


def test_export_refuses_a_non_empty_directory(demo, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "notes.txt").write_text("keep me")
    with pytest.raises(CommandError, match="not empty"):
        call_command("export_archive", str(tmp_path / "a"), verbosity=0)
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["notes.txt"]


def test_verify_only_accepts_an_intact_archive(demo, tmp_path, capsys):
    export(tmp_path / "a")
    call_command("import_archive", "--verify-only", str(tmp_path / "a"))
    assert "intact" in capsys.readouterr().out
