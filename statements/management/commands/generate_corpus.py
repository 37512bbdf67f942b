from django.core.management.base import BaseCommand, CommandError

from statements import corpus


class Command(BaseCommand):
    help = (
        "Load a synthetic corpus for benchmarks and load tests: N published Arabic releases "
        "of 2–5 KB recombined from the demo texts, with about 8 positions each, dates over "
        "1992–2026 at mixed precision, 20 sources and relays. The same seed gives the same "
        "corpus. Never run it on the real archive: its releases are made up."
    )

    def add_arguments(self, parser):
        parser.add_argument("--releases", type=int, required=True, help="how many releases")
        parser.add_argument("--seed", type=int, default=1, help="the same seed, the same corpus")
        parser.add_argument("--batch", type=int, default=1000, help="releases per transaction")
        parser.add_argument(
            "--draft-share",
            type=float,
            default=0.0,
            help="the share of releases left as drafts (0 to 1; default none)",
        )

    def handle(self, *args, releases, seed, batch, draft_share, **options):
        if releases < 1:
            raise CommandError("--releases must be at least 1.")
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        if not 0 <= draft_share <= 1:
            raise CommandError("--draft-share must be between 0 and 1.")
        verbose = options["verbosity"] >= 1

        def progress(done, total, seconds):
            if verbose:
                rate = done / seconds if seconds else 0
                left = (total - done) / rate if rate else 0
                self.stderr.write(
                    f"\r{done:,}/{total:,} releases, {rate:,.0f}/s, about {left:,.0f} s left",
                    ending="",
                )

        try:
            loaded = corpus.build(
                releases, seed, batch=batch, draft_share=draft_share, progress=progress
            )
        except ValueError as error:
            raise CommandError(f"{error}; use another --seed, or an empty database.") from error
        if verbose:
            self.stderr.write("")
            self.stdout.write(f"Loaded {loaded:,} releases (seed {seed}).")
