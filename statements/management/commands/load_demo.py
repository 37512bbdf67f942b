from django.core.management.base import BaseCommand, CommandError

from statements.demo import DemoDataError, load_demo


class Command(BaseCommand):
    help = "Load the demo archive (the two seed texts with their positions), published. Idempotent."

    def handle(self, *args, **options):
        try:
            releases = load_demo()
        except DemoDataError as error:
            raise CommandError(f"demo data is inconsistent: {error}") from None
        for release in releases:
            self.stdout.write(
                f"/r/{release.public_id}/  {release.display_title}  "
                f"({release.positions.count()} positions, {release.get_status_display()})"
            )
        self.stdout.write(self.style.SUCCESS(f"Demo archive ready: {len(releases)} releases."))
