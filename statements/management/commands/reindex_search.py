from django.core.management.base import BaseCommand
from django.db import connection, transaction

from statements import analysis, search_schema
from statements.models import Position, Release, SearchTerm

BATCH = 500
FIELDS = ["search_tokens", "search_folded", "search_version"]


class Command(BaseCommand):
    help = (
        "Rebuild the search index: re-analyze every release and position with the current "
        f"analyzer (version {analysis.ANALYZER_VERSION}), rebuild the vocabulary and the "
        "database's index objects. Run it after changing statements/analysis.py."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stale-only",
            action="store_true",
            help="only records analyzed by an older analyzer version",
        )

    def handle(self, *args, stale_only, **options):
        verbose = options["verbosity"] >= 1
        vocabulary = set()
        for model in (Release, Position):
            sources = model.SEARCHED_FIELDS
            queryset = model.objects.order_by("pk")
            if stale_only:
                queryset = queryset.exclude(search_version=analysis.ANALYZER_VERSION)
            total = queryset.count()
            done = 0
            batch = []
            for obj in queryset.only("pk", *sources).iterator(chunk_size=BATCH):
                result = analysis.analyze(*(getattr(obj, f) for f in sources))
                obj.search_tokens, obj.search_folded = result.tokens, result.folded
                obj.search_version = analysis.ANALYZER_VERSION
                vocabulary |= result.surfaces
                batch.append(obj)
                if len(batch) == BATCH:
                    done += self._save(model, batch)
                    batch = []
                    if verbose:
                        self.stderr.write(
                            f"\r{model._meta.verbose_name_plural}: {done}/{total}", ending=""
                        )
            done += self._save(model, batch)
            if verbose:
                self.stderr.write(f"\r{model._meta.verbose_name_plural}: {done}/{total}")

        with transaction.atomic():
            if not stale_only:
                SearchTerm.objects.all().delete()
            SearchTerm.objects.bulk_create(
                [SearchTerm(term=t) for t in sorted(vocabulary) if len(t) <= SearchTerm.MAX_LENGTH],
                ignore_conflicts=True,
                batch_size=BATCH,
            )
        if not search_schema.ensure(connection):
            search_schema.rebuild(connection)
        self.stdout.write(
            self.style.SUCCESS(
                f"Search index rebuilt (analyzer version {analysis.ANALYZER_VERSION}, "
                f"{SearchTerm.objects.count()} words in the vocabulary)."
            )
        )

    @staticmethod
    def _save(model, batch):
        if batch:
            with transaction.atomic():
                model.objects.bulk_update(batch, FIELDS)
        return len(batch)
