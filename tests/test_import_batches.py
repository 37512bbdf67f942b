"""Batched imports (``import_releases --batch N``) store what record-by-record imports store.

The same file, full of the cases an import meets (new and known sources, relays, the
same text twice, a refused record, a record only the database refuses), is imported
one record at a time and in batches of several sizes: outcomes, notes, releases, their
search columns, sources, vocabulary and the listings' derived data must agree.
"""

import json
import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from statements import analysis, importers, listing
from statements.models import Release, SearchTerm, Source
from tests import dying
from tests.factories import make_release, make_source

pytestmark = pytest.mark.django_db

BODY = "أكدت منظمة معاهدة الأمن الجماعي دعمها للحوار في {}."


def record(n, **fields):
    return {
        "title": f"بيان المنظمة رقم {n}",
        "body": BODY.format(f"المدينة {n}"),
        "source": "وكالة الأنباء الأولى",
        "url": f"https://example.org/news/{n}",
        "published": f"20{10 + n % 15:02d}",
        **fields,
    }


def file_of_cases(tmp_path):
    lines = [
        record(1, relayed_from=["سبوتنيك", "وكالة ثانية", "سبوتنيك"], issuing_body="cfm"),
        record(1),  # the same URL again: already in the archive (imported just above)
        record(2, url="", body=BODY.format("دمشق")),
        record(3, url="", body=BODY.format("دمشق"), title="عنوان آخر"),  # the same text
        record(4, source="مصدر لن يبقى", url="not a url"),  # refused: its source is not kept
        record(5, published_inferred=True, published=None),  # only the database refuses it
        record(6, title="ب" * 600),  # too long a title
        "{not json",
        record(7, url="https://example.org/known", body=BODY.format("موسكو")),  # archived
        record(8, title="\u202bبيان\u202c مع علامات اتجاه"),  # sanitation is reported
        record(9, source="", url=""),  # no source
        *(record(n, relayed_from=["وكالة ثانية"] if n % 3 else []) for n in range(10, 24)),
        record(24, body=BODY.format("المدينة 23")),  # the text of 23 at another URL: a new release
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)
                  for line in lines) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    return path


def snapshot(result, baseline):
    """What an import did, with identifiers replaced by their order of creation."""
    created = list(Release.objects.filter(pk__gt=baseline).order_by("pk"))
    rank = {release.pk: n for n, release in enumerate(created)}

    def who(release):
        if release is None:
            return None
        return ("new", rank[release.pk]) if release.pk in rank else ("old", release.pk)

    outcomes = [
        (o.where, o.action, o.message, tuple(o.notes), who(o.release)) for o in result.outcomes
    ]
    releases = [
        (
            r.title, r.body, r.dateline, r.url, r.import_key, r.source.name, r.issuing_body,
            r.published_on, r.published_precision, r.published_inferred, r.status,
            r.body_sha256, r.search_tokens, r.search_folded, r.search_version, r.revision,
            tuple(s.name for s in r.relayed_from.order_by("name")),
        )
        for r in created
    ]  # fmt: skip
    public_ids = [r.public_id for r in created]
    assert len(set(public_ids)) == len(public_ids)
    return {
        "outcomes": outcomes,
        "releases": releases,
        "sources": sorted(Source.objects.values_list("name", flat=True)),
        "terms": sorted(SearchTerm.objects.values_list("term", flat=True)),
    }


def forget(baseline, sources):
    """Take the import back, so that the next one starts from the same archive."""
    Release.objects.filter(pk__gt=baseline).delete()
    Release.history.model.objects.filter(id__gt=baseline).delete()
    Source.objects.exclude(pk__in=sources).delete()
    SearchTerm.objects.all().delete()


def test_batches_of_any_size_store_what_one_at_a_time_stores(tmp_path):
    make_release(
        url="https://example.org/known", body="نص مختلف عن نص الملف.", source=make_source()
    )
    baseline = Release.objects.latest("pk").pk
    SearchTerm.objects.all().delete()
    sources = set(Source.objects.values_list("pk", flat=True))
    path = file_of_cases(tmp_path)
    seen = {}
    for batch in (1, 2, 3, 7, 500):
        result = importers.import_paths([path], status=Release.Status.IN_REVIEW, batch=batch)
        assert listing.drift() == []
        seen[batch] = snapshot(result, baseline)
        if batch in (2, 3, 7):
            _check_history(baseline)
        elif batch == 500:  # one batch, refused by the database: written record by record
            relayed = Release.objects.filter(pk__gt=baseline, relayed_from__isnull=False)
            assert all(r.history.filter(history_type="~").exists() for r in relayed)
        forget(baseline, sources)
    reference = seen.pop(1)
    actions = [o[1] for o in reference["outcomes"]]
    assert actions.count("created") == 18 and actions.count("exists") == 3, actions
    messages = {o[0]: o[2] for o in reference["outcomes"] if o[1] == "error"}
    assert "cases.jsonl:6" in messages and "inferred" in messages["cases.jsonl:6"].lower()
    assert "مصدر لن يبقى" not in reference["sources"]
    for batch, found in seen.items():
        for part, expected in reference.items():
            assert found[part] == expected, f"batch {batch}: {part} differ"


def _check_history(baseline):
    """A batch writes one creation record per release, with the release's relays (a batch
    the database refused was written record by record: a record per relay added)."""
    single = 0
    for release in Release.objects.filter(pk__gt=baseline):
        records = list(release.history.order_by("history_id"))
        first, last = records[0], records[-1]
        assert first.history_type == "+"
        assert all(r.history_type == "~" for r in records[1:])
        single += len(records) == 1
        assert first.title == release.title and first.body == release.body
        assert first.public_id == release.public_id and first.source_id == release.source_id
        relays = sorted(s.pk for s in release.relayed_from.all())
        assert sorted(last.relayed_from.values_list("source_id", flat=True)) == relays
    assert single >= 10  # the batches the database accepted


def analyzed_here(monkeypatch):
    """The texts analyzed in this process from now on (the analyzing process, forked from
    a fresh server, has analysis functions of its own)."""
    seen = []
    analyze = analysis.analyze

    def recorded(*texts):
        seen.append(texts)
        return analyze(*texts)

    monkeypatch.setattr(analysis, "analyze", recorded)
    return seen


def test_batches_are_analyzed_in_a_process_of_their_own(tmp_path, monkeypatch):
    here = analyzed_here(monkeypatch)
    result = importers.import_paths([file_of_cases(tmp_path)], batch=3)
    assert sum(o.action == "created" for o in result.outcomes) > 10
    assert here == []


def test_batches_are_analyzed_here_when_the_analyzing_process_dies(tmp_path, monkeypatch, caplog):
    """The next batch is analyzed in a process of its own; should it die (here: a real
    death: the process ends at once, as a crash would), the import analyzes its batches in
    the importing process and stores what it would have."""
    baseline = Release.objects.latest("pk").pk if Release.objects.exists() else 0
    sources = set(Source.objects.values_list("pk", flat=True))
    path = file_of_cases(tmp_path)
    reference = snapshot(importers.import_paths([path], batch=1), baseline)
    forget(baseline, sources)
    monkeypatch.setattr(analysis, "analyze_each", dying.analyze_each)
    here = analyzed_here(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="statements.importers"):
        crashed = snapshot(importers.import_paths([path], batch=3), baseline)
    assert crashed == reference
    assert here  # the batches were analyzed in this process
    assert caplog.text.count("analyzing process died") == 1  # said once, not per batch
    assert sum(o[1] == "created" for o in crashed["outcomes"]) > 10
    assert listing.drift() == []


def test_the_command_imports_in_batches_and_reports_each_record(tmp_path):
    path = file_of_cases(tmp_path)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="5 record"):
        call_command("import_releases", str(path), "--batch", "4", stdout=out, stderr=err)
    assert "19 created, 2 already in the archive, 5 error(s)" in out.getvalue()
    assert "cases.jsonl:5: " in err.getvalue() and "cases.jsonl:8: " in err.getvalue()
    assert Release.objects.count() == 19
    # A second run finds everything.
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_releases", str(path), "--batch", "4", stdout=out, stderr=StringIO())
    assert "0 created, 21 already in the archive" in out.getvalue()


def test_a_batch_size_below_one_is_refused(tmp_path):
    with pytest.raises(CommandError, match="--batch must be 1 or more"):
        call_command("import_releases", str(file_of_cases(tmp_path)), "--batch", "0")


def test_a_dry_run_in_batches_writes_nothing(tmp_path):
    before = Release.objects.count(), Source.objects.count()
    result = importers.import_paths([file_of_cases(tmp_path)], dry_run=True, batch=5)
    assert result.created == 19
    assert (Release.objects.count(), Source.objects.count()) == before
