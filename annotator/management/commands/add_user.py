"""`manage.py add_user USERNAME --role associate|supervisor --stores S001[,S002] [--password P] [--update] [--token]`

Without --password a new user gets a generated one, printed once; a given one must pass
AUTH_PASSWORD_VALIDATORS (not like the username, not short, common or all digits). --token
also prints an API token once (a headless annotation client signs in with it), replacing
any token the user had.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotator.services.people import PEOPLE_ROLES, person_onboard
from catalog.services import api_token_issue
from infra.errors import LoupeError


class Command(BaseCommand):
    help = "Add an associate or supervisor granted some stores (associates join the stores' queues)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help=" or ".join(PEOPLE_ROLES))
        parser.add_argument("--stores", required=True, help="comma-separated store codes")
        parser.add_argument("--password", help="checked by the password validators; generated when left out")
        parser.add_argument(
            "--update", action="store_true", help="re-state an existing user's role and stores (and password if given)"
        )
        parser.add_argument(
            "--token", action="store_true", help="also print an API token (replaces the user's token, if any)"
        )

    def handle(
        self, *args, username: str, role: str, stores: str, password: str | None, update: bool, token: bool, **options
    ):
        try:
            with transaction.atomic():
                onboarded = person_onboard(
                    username=username, role=role, store_codes=stores.split(","), password=password, update=update
                )
                key = api_token_issue(username=onboarded.user.username)[1] if token else None
        except LoupeError as exc:
            raise CommandError(exc.detail) from None
        user = onboarded.user
        granted = ", ".join(user.stores.values_list("code", flat=True))
        queues = user.queues.count()
        verb = "Added" if onboarded.created else "Updated"
        self.stdout.write(f"{verb} {role} {user.username} (stores: {granted}; member of {queues} queue(s)).")
        if onboarded.generated:
            self.stdout.write(f"Password, shown only once: {onboarded.password}")
        if key is not None:
            self.stdout.write(f"API token, shown only once: {key}")
