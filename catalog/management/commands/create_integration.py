"""`manage.py create_integration NAME --stores S001[,S002] [--rotate]`

Prints the new API token once; Loupe cannot show it again (rotate to get another).
"""

from django.core.management.base import BaseCommand, CommandError

from catalog.services import integration_create
from infra.errors import LoupeError


class Command(BaseCommand):
    help = "Create a machine client (integration) granted some stores, and print its API token once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the integration's username, e.g. cv-s001")
        parser.add_argument("--stores", help="comma-separated store codes (required for a new integration)")
        parser.add_argument(
            "--rotate", action="store_true", help="replace an existing integration's token (the old one stops working)"
        )

    def handle(self, *args, name: str, stores: str | None, rotate: bool, **options):
        codes = stores.split(",") if stores is not None else None
        try:
            credentials = integration_create(name=name, store_codes=codes, rotate=rotate)
        except LoupeError as exc:
            raise CommandError(exc.detail) from None
        action = "Created integration" if credentials.created else "Rotated the token of"
        granted = ", ".join(credentials.user.stores.values_list("code", flat=True))
        self.stderr.write(f"{action} {credentials.user.username} (stores: {granted}). Its token, shown only once:")
        self.stdout.write(credentials.token)
