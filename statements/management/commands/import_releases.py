from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from statements.importers import RecordError, count_records, find_source, import_paths
from statements.models import DatePrecision, Release

BATCH = 500  # ~10 MB of text at a time; bench/RESULTS.md measures the rate


class Command(BaseCommand):
    help = (
        "Import releases from .txt files (seed format: a dateline or section label on the "
        "first line, then the text) and .jsonl files (one release per line). Idempotent: "
        "a release already in the archive (same URL, or the same text) is not created again."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, help=".txt or .jsonl files")
        parser.add_argument("--source", help="source of .txt files (name, English name or slug)")
        parser.add_argument(
            "--published", help="publication date of .txt files: 2018-11-08, 2018-11 or 2018"
        )
        parser.add_argument(
            "--precision", choices=DatePrecision.values, help="precision of --published"
        )
        parser.add_argument(
            "--inferred", action="store_true", help="the date is worked out, not stated"
        )
        parser.add_argument(
            "--status",
            # Plain values: argparse names its choices by repr(), an enum's "ReleaseStatus.DRAFT".
            choices=[Release.Status.DRAFT.value, Release.Status.IN_REVIEW.value],
            default=Release.Status.DRAFT.value,
            help="workflow status of new releases (publishing is an editor's decision)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check everything, write nothing"
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=BATCH,
            metavar="N",
            help=(
                f"write N releases per transaction (default {BATCH}; 1: one at a time). A batch "
                "the database refuses is imported again one record at a time, so a bad record "
                "is still named and the others still imported."
            ),
        )

    def handle(
        self, *args, paths, source, published, precision, inferred, status, dry_run, batch,
        **options,
    ):  # fmt: skip
        verbosity = options["verbosity"]
        if batch < 1:
            raise CommandError("--batch must be 1 or more")
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise CommandError(f"no such file: {', '.join(missing)}")
        source_obj = None
        if source:
            source_obj = find_source(source)
            if source_obj is None:
                raise CommandError(f"unknown source {source!r}; create it in the admin first")

        total = sum(count_records(p) for p in paths)
        step = max(1, total // 20) if total >= 200 and verbosity >= 1 else 0

        def progress(done):
            if step and (done % step == 0 or done == total):
                self.stderr.write(
                    f"\r{done}/{total} records ({100 * done // total}%)",
                    ending="\n" if done == total else "",
                )
                self.stderr.flush()

        try:
            result = import_paths(
                paths,
                source=source_obj,
                published=published,
                precision=precision,
                inferred=inferred,
                status=status,
                dry_run=dry_run,
                progress=progress,
                batch=batch,
            )
        except RecordError as error:
            raise CommandError(str(error)) from None

        verb = "would create" if dry_run else "created"
        for outcome in result.outcomes:
            if outcome.action == "error":
                self.stderr.write(self.style.ERROR(f"{outcome.where}: {outcome.message}"))
                continue
            label = verb if outcome.action == "created" else "already in the archive"
            ident = (
                ""
                if dry_run and outcome.action == "created"
                else f" /r/{outcome.release.public_id}/"
            )
            if verbosity >= 1:
                self.stdout.write(f"{outcome.where}: {label}{ident}")
            for note in outcome.notes:
                if verbosity >= 1:
                    self.stdout.write(f"    {note}")
        summary = (
            f"{result.created} {verb}, {result.existing} already in the archive, "
            f"{len(result.errors)} error(s)" + (" (dry run: nothing written)" if dry_run else "")
        )
        self.stdout.write(self.style.SUCCESS(summary) if not result.errors else summary)
        if result.errors:
            raise CommandError(f"{len(result.errors)} record(s) could not be imported (see above)")
