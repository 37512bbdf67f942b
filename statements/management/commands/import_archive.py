from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from statements import archive


class Command(BaseCommand):
    help = (
        "Restore an archive written by `export_archive` into an EMPTY database (after "
        "`manage.py migrate`), in one transaction: every permalink, public identifier, "
        "position number and version comes back as it was; listings and the search index "
        "are rebuilt. The manifest and every file's checksum are verified first."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="the archive's directory")
        parser.add_argument(
            "--verify-only",
            action="store_true",
            help="only check the manifest and every file's row count and SHA-256",
        )

    def handle(self, *args, directory, verify_only, **options):
        verbose = options["verbosity"] >= 1

        def progress(name, rows):
            if verbose:
                self.stdout.write(f"  {name}: {rows} rows restored")

        try:
            if verify_only:
                manifest = archive.verify(directory)
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{directory}: intact ({len(manifest['files'])} files verified; "
                        f"written {manifest['created_at']} by schema {manifest['schema']})."
                    )
                )
                return
            result = archive.restore(directory, progress=progress)
        except archive.ArchiveError as error:
            raise CommandError(str(error)) from None
        if result["removed_topics"]:
            self.stdout.write(
                "Topics not in the archive were removed from the codebook: "
                + ", ".join(result["removed_topics"])
            )
        if result["created_users"]:
            self.stdout.write(
                "Publishers without an account here were created as inactive accounts "
                "without a password (activate them in the admin if needed): "
                + ", ".join(result["created_users"])
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Archive {directory} restored (written {result['manifest']['created_at']}). "
                "Listings and the search index were rebuilt."
            )
        )
