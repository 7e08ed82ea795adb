"""Print where to open Loupe and the demo logins that `seed_demo` created. Demo only."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from validation.demo import people


class Command(BaseCommand):
    help = "Print the URL to open and the demo logins with their (demo-only) passwords."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="the address the server listens on")

    def handle(self, *args, url: str, **options) -> None:
        users = {
            user.username: user
            for user in get_user_model().objects.filter(username__in=[login.username for login in people.DEMO_LOGINS])
        }
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Loupe: open {url}"))
        if not users:
            self.stdout.write(
                "No demo logins in this database. Load them with `python manage.py seed_demo`, or create a person:\n"
                "  python manage.py createsuperuser\n"
                "  python manage.py add_user NAME --role associate|supervisor --stores S001[,S002]"
            )
            return
        rows = [("username", "role", "stores", "password")]
        for login in people.DEMO_LOGINS:
            if login.username in users:
                rows.append((login.username, login.role, login.stores_label, login.password))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        warning = "Demo logins (DEMO ONLY: fixed, published passwords; never use them in production):"
        self.stdout.write(self.style.WARNING(warning))
        for i, row in enumerate(rows):
            self.stdout.write("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
            if i == 0:
                self.stdout.write("  " + "  ".join("-" * width for width in widths))
        if token := people.demo_integration_token():
            self.stdout.write(
                f"Demo integration {people.DEMO_INTEGRATION} ({','.join(people.DEMO_INTEGRATION_STORES)}), DEMO ONLY:\n"
                f"  Authorization: Token {token}"
            )
        self.stdout.write("")
