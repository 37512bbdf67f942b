"""Ingest: both formats, idempotence, sanitation reports, malformed input, dry runs."""

import datetime
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from statements import importers
from statements.demo import DEMO_DIR
from statements.models import Release, Source
from tests.factories import make_source

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

SEED_000 = DEMO_DIR / "000_559f88af96851eb0.txt"
SEED_004 = DEMO_DIR / "004_c6491c0532d96de1.txt"


@pytest.fixture
def sana():
    return make_source(name="سانا", name_en="SANA", slug="sana", aliases="سانا")


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("import_releases", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write_jsonl(tmp_path, *records, name="batch.jsonl"):
    path = tmp_path / name
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class TestTxt:
    def test_seed_with_a_dateline(self, sana):
        out, _ = run(SEED_000, "--published", "2018-11-08", "--inferred")
        release = Release.objects.get()
        raw = SEED_000.read_text(encoding="utf-8")
        assert release.dateline == "أستانا"
        assert release.source == sana
        assert release.body == raw.partition("\n")[2]
        assert release.published_on == datetime.date(2018, 11, 8)
        assert release.published_precision == "day"
        assert release.published_inferred
        assert release.status == Release.Status.DRAFT
        assert "dateline" in out and "1 created" in out

    def test_dateline_agency_names_the_source_through_its_alias(self, sana):
        run(SEED_000)
        assert Release.objects.get().source == sana

    def test_unknown_agency_without_source_is_an_error(self):
        with pytest.raises(CommandError):
            run(SEED_000)
        assert not Release.objects.exists()

    def test_seed_with_a_section_label(self):
        source = make_source(slug="egypt")
        run(SEED_004, "--source", "egypt", "--published", "2020")
        release = Release.objects.get()
        assert release.section_label == "متابعات"
        assert release.body.startswith("أكد وزراء خارجية منظمة الأمن الجماعي")
        assert release.source == source
        assert (release.published_on, release.published_precision) == (
            datetime.date(2020, 1, 1),
            "year",
        )
        # Everything after the label is kept, byte for byte.
        assert SEED_004.read_text(encoding="utf-8").endswith(release.body)

    def test_text_without_header_is_kept_whole(self, tmp_path):
        make_source(slug="s")
        path = tmp_path / "plain.txt"
        path.write_text("أعربت المنظمة عن قلقها إزاء الوضع، ودعت إلى الحوار.", encoding="utf-8")
        out, _ = run(path, "--source", "s")
        assert Release.objects.get().body == path.read_text(encoding="utf-8")
        assert "no dateline" in out

    def test_second_run_creates_nothing(self, sana):
        run(SEED_000)
        out, _ = run(SEED_000)
        assert Release.objects.count() == 1
        assert "0 created, 1 already in the archive" in out

    def test_sanitation_is_reported(self, tmp_path, sana):
        path = tmp_path / "dirty.txt"
        path.write_bytes("أستانا-سانا\r\nبيان\u202e المنظمة\r\nسطر ثان".encode())
        out, _ = run(path)
        release = Release.objects.get()
        assert release.body == "بيان المنظمة\nسطر ثان"
        assert "removed 1 × U+202E RLO" in out
        assert "normalized 2 line ending(s)" in out

    def test_dry_run_writes_nothing(self, sana):
        out, _ = run(SEED_000, "--dry-run")
        assert "1 would create" in out and "dry run" in out
        assert not Release.objects.exists()

    def test_non_utf8_file_is_reported(self, tmp_path, sana):
        path = tmp_path / "latin1.txt"
        path.write_bytes("أستانا-سانا\nنص".encode() + b"\xff\xfe")
        with pytest.raises(CommandError):
            run(path, SEED_000)
        # The good file still imports.
        assert Release.objects.count() == 1

    def test_missing_file_and_unknown_source_are_clear_errors(self, tmp_path):
        with pytest.raises(CommandError, match="no such file"):
            run(tmp_path / "nope.txt")
        with pytest.raises(CommandError, match="unknown source"):
            run(SEED_000, "--source", "nobody")

    def test_a_status_not_offered_names_the_ones_that_are(self, sana):
        """The choices are named as they are typed, not as Python enum members."""
        with pytest.raises(CommandError) as refused:
            run(SEED_000, "--status", "published")
        assert "'draft', 'review'" in str(refused.value)
        assert "ReleaseStatus" not in str(refused.value)
        assert not Release.objects.exists()

    def test_a_status_offered_is_taken(self, sana):
        run(SEED_000, "--status", "review")
        assert Release.objects.get().status == Release.Status.IN_REVIEW

    def test_bad_date_option_is_a_clear_error(self, sana):
        with pytest.raises(CommandError, match="more precise"):
            run(SEED_000, "--published", "2018-11-08", "--precision", "year")


class TestJsonl:
    RECORD = {
        "title": "بيان المنظمة",
        "body": "أكدت منظمة معاهدة الأمن الجماعي دعمها للحوار.",
        "source": "وكالة جديدة",
        "url": "https://example.org/news/1",
        "published": "2019-03",
        "published_precision": "month",
        "dateline": "موسكو",
    }

    def test_records_are_imported_and_unknown_sources_created(self, tmp_path):
        second = {**self.RECORD, "url": "https://example.org/news/2", "body": "نص آخر."}
        out, _ = run(write_jsonl(tmp_path, self.RECORD, second))
        assert Release.objects.count() == 2
        release = Release.objects.get(url=self.RECORD["url"])
        assert release.title == "بيان المنظمة"
        assert release.source.name == "وكالة جديدة"
        assert Source.objects.filter(name="وكالة جديدة").count() == 1
        assert (release.published_on, release.published_precision) == (
            datetime.date(2019, 3, 1),
            "month",
        )
        assert "created source" in out

    def test_idempotent_on_url_even_when_text_was_corrected(self, tmp_path):
        run(write_jsonl(tmp_path, self.RECORD))
        Release.objects.update(body="نص صححه محرر.")
        out, _ = run(write_jsonl(tmp_path, self.RECORD))
        assert Release.objects.count() == 1
        assert Release.objects.get().body == "نص صححه محرر."
        assert "already in the archive" in out
        assert "differs from the archive's" in out

    def test_idempotent_on_body_without_url(self, tmp_path):
        record = {**self.RECORD, "url": ""}
        run(write_jsonl(tmp_path, record))
        run(write_jsonl(tmp_path, record))
        assert Release.objects.count() == 1

    def test_malformed_lines_are_reported_with_their_number_and_the_rest_imports(self, tmp_path):
        path = write_jsonl(
            tmp_path,
            self.RECORD,
            "{not json",
            {**self.RECORD, "url": "https://example.org/3", "body": ""},
            {**self.RECORD, "url": "https://example.org/4", "published": "2019-02-30"},
            {
                **self.RECORD,
                "url": "https://example.org/5",
                "published": "2019-02-03",
                "published_precision": "year",
            },
            {**self.RECORD, "url": "not a url"},
            ["a list"],
            {**self.RECORD, "url": "https://example.org/6", "source": 5},
            {**self.RECORD, "url": "https://example.org/7", "issuing_body": "parliament"},
            {**self.RECORD, "url": "https://example.org/8", "body": "نص ثامن."},
        )
        with pytest.raises(CommandError, match="8 record"):
            run(path)
        result = importers.import_paths([path], dry_run=True)
        where = {o.where: o.message for o in result.errors}
        assert set(where) == {f"batch.jsonl:{n}" for n in range(2, 10)}
        assert "not valid JSON" in where["batch.jsonl:2"]
        assert "body" in where["batch.jsonl:3"]
        assert "not a real date" in where["batch.jsonl:4"]
        assert "more precise" in where["batch.jsonl:5"]
        assert "URL" in where["batch.jsonl:6"] or "url" in where["batch.jsonl:6"]
        assert "object" in where["batch.jsonl:7"]
        assert "string" in where["batch.jsonl:8"]
        assert "issuing_body" in where["batch.jsonl:9"]
        assert set(Release.objects.values_list("url", flat=True)) == {
            self.RECORD["url"],
            "https://example.org/8",
        }

    def test_a_failed_record_leaves_nothing_half_written(self, tmp_path):
        # The source would be created, but the release is refused: neither is kept.
        bad = {**self.RECORD, "source": "مصدر لن يبقى", "url": "not a url"}
        with pytest.raises(CommandError):
            run(write_jsonl(tmp_path, bad))
        assert not Source.objects.filter(name="مصدر لن يبقى").exists()

    def test_unknown_keys_are_reported_not_silently_dropped(self, tmp_path):
        out, _ = run(write_jsonl(tmp_path, {**self.RECORD, "author": "x"}))
        assert "ignored unknown keys: author" in out

    def test_relays_and_year_dates(self, tmp_path):
        record = {
            **self.RECORD,
            "published": "2020",
            "published_precision": None,
            "relayed_from": ["سبوتنيك"],
            "issuing_body": "cfm",
        }
        run(write_jsonl(tmp_path, record))
        release = Release.objects.get()
        assert release.published_precision == "year"
        assert [s.name for s in release.relayed_from.all()] == ["سبوتنيك"]
        assert release.issuing_body == "cfm"

    def test_dry_run_writes_nothing(self, tmp_path):
        out, _ = run(write_jsonl(tmp_path, self.RECORD), "--dry-run")
        assert "1 would create" in out
        assert not Release.objects.exists()
        assert not Source.objects.filter(name="وكالة جديدة").exists()

    def test_progress_on_large_files(self, tmp_path):
        records = [
            {**self.RECORD, "url": f"https://example.org/n/{i}", "body": f"نص رقم {i}."}
            for i in range(250)
        ]
        out, err = run(write_jsonl(tmp_path, *records), "--dry-run")
        assert "\r120/250 records (48%)" in err
        assert "250/250 records (100%)\n" in err
        assert "250 would create" in out
        _, quiet = run(write_jsonl(tmp_path, *records), "--dry-run", "-v", "0")
        assert quiet == ""


class TestPartialDate:
    @pytest.mark.parametrize(
        ("value", "precision", "expected"),
        [
            ("2018-11-08", None, (datetime.date(2018, 11, 8), "day")),
            ("2018-11", None, (datetime.date(2018, 11, 1), "month")),
            ("2018", "year", (datetime.date(2018, 1, 1), "year")),
            (None, None, (None, "unknown")),
            ("", "unknown", (None, "unknown")),
        ],
    )
    def test_accepted(self, value, precision, expected):
        assert importers.parse_partial_date(value, precision) == expected

    @pytest.mark.parametrize(
        ("value", "precision"),
        [
            ("2018-11", "day"),
            ("2018-11-08", "month"),
            ("18/11/2018", None),
            (2018, None),
            (None, "year"),
            ("2018", "fortnight"),
            ("2018-13", None),
        ],
    )
    def test_refused(self, value, precision):
        with pytest.raises(importers.RecordError):
            importers.parse_partial_date(value, precision)


def test_header_detection_keeps_sentences_in_the_body():
    header, body = importers.split_header("أكدت المنظمة، في بيان، دعمها.\nسطر ثان")
    assert header == {"dateline": "", "agency": "", "section_label": ""}
    assert body.startswith("أكدت المنظمة")


def test_demo_files_are_the_seeds_byte_for_byte():
    shared = Path(__file__).resolve().parents[2] / "shared" / "seeds"
    if not shared.is_dir():
        pytest.skip("../shared is not beside this checkout")
    for name in (SEED_000.name, SEED_004.name):
        assert (DEMO_DIR / name).read_bytes() == (shared / name).read_bytes()
