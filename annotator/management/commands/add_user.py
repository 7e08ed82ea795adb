"""`manage.py add_user USERNAME --role associate|supervisor --stores S001[,S002] [--password P] [--update]`

Without --password a new user gets a generated one, printed once.
"""

from django.core.management.base import BaseCommand, CommandError

from annotator.services.people import PEOPLE_ROLES, person_onboard
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

    def handle(self, *args, username: str, role: str, stores: str, password: str | None, update: bool, **options):
        try:
            onboarded = person_onboard(
                username=username, role=role, store_codes=stores.split(","), password=password, update=update
            )
        except LoupeError as exc:
            raise CommandError(exc.detail) from None
        user = onboarded.user
        granted = ", ".join(user.stores.values_list("code", flat=True))
        queues = user.queues.count()
        verb = "Added" if onboarded.created else "Updated"
        self.stdout.write(f"{verb} {role} {user.username} (stores: {granted}; member of {queues} queue(s)).")
        if onboarded.generated:
            self.stdout.write(f"Password, shown only once: {onboarded.password}")
