from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from statements import archive


class Command(BaseCommand):
    help = (
        "Write the whole archive (sources, topics, issued public identifiers, releases, "
        "positions, public versions) as checksummed JSON Lines files with a manifest.json "
        "into DIR, a new or empty directory. Restore it with `import_archive DIR`."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="a new or empty directory")

    def handle(self, *args, directory, **options):
        verbose = options["verbosity"] >= 1

        def progress(name, rows):
            if verbose:
                self.stdout.write(f"  {name}: {rows} rows")

        try:
            manifest = archive.export(directory, progress=progress)
        except archive.ArchiveError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Archive written to {directory} (format {manifest['format_version']}, "
                f"schema {manifest['schema']}). Check it with "
                f"`manage.py import_archive --verify-only {directory}`."
            )
        )
