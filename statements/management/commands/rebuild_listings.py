import time

from django.core.management.base import BaseCommand

from statements import listing

LIMIT = 20  # problems listed


class Command(BaseCommand):
    help = (
        "Rewrite the public listings' copies (positions' copies of their release's state, "
        "date, source and body; the topic entries; the facet count tables) from the records, "
        "and say how many "
        "were out of step. Run it after changing records with raw SQL, or after a restore "
        "(with the cache cleared)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="only report what is out of step; change nothing"
        )

    def handle(self, *args, check, **options):
        problems = listing.drift(limit=LIMIT + 1)
        for problem in problems[:LIMIT]:
            self.stdout.write(f"  {problem}")
        more = "more than " if len(problems) > LIMIT else ""
        self.stdout.write(f"Listing copies out of step: {more}{min(len(problems), LIMIT)}.")
        if check:
            if problems:
                raise SystemExit(1)
            return
        started = time.monotonic()
        listing.refresh()
        self.stdout.write(
            self.style.SUCCESS(f"Listing copies rebuilt in {time.monotonic() - started:.1f} s.")
        )
