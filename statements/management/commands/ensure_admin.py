from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Make sure a superuser exists for a first login, with the password read from a file "
        "(no prompt). Used by the laptop set-up; create real accounts in the admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password-file", type=Path, required=True)
        parser.add_argument(
            "--reset", action="store_true", help="set the password even if the user exists"
        )

    def handle(self, *args, username, password_file, reset, **options):
        try:
            password = password_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise CommandError(f"cannot read {password_file}: {error}") from None
        if not password:
            raise CommandError(f"{password_file} is empty")
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        if created or reset:
            user.set_password(password)
            user.save()
            self.stdout.write(f"{'created' if created else 'reset the password of'} {username!r}")
