"""`manage.py create_token USERNAME`

Prints a new API token for an existing user once (for a headless annotation client, say) and
revokes the one they had. The token acts with the user's roles and stores.
"""

from django.core.management.base import BaseCommand, CommandError

from catalog import roles
from catalog.services import api_token_issue
from infra.errors import LoupeError


class Command(BaseCommand):
    help = "Issue a new API token for an existing user (the old one stops working) and print it once."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        try:
            user, key = api_token_issue(username=username)
        except LoupeError as exc:
            raise CommandError(exc.detail) from None
        held = [role for role in roles.ROLES if roles.has_role(user, role)] or ["no role"]
        self.stderr.write(
            f"New API token for {user.username} ({', '.join(held)}); any old one is revoked. Shown only once:"
        )
        self.stdout.write(key)
