"""`manage.py add_webhook URL --events receipt.issued,receipt.corrected`

Prints the new endpoint's signing secret (`whsec_…`) once; Loupe does not show it again.
"""

from django.core.management.base import BaseCommand, CommandError

from infra.errors import LoupeError
from validation.webhooks import EVENT_TYPES, webhook_endpoint_create


class Command(BaseCommand):
    help = "Add a billing webhook endpoint and print its signing secret once."

    def add_arguments(self, parser):
        parser.add_argument("url", help="where billing receives the events (http or https)")
        parser.add_argument(
            "--events", default=",".join(EVENT_TYPES), help=f"comma-separated (default: {','.join(EVENT_TYPES)})"
        )

    def handle(self, *args, url: str, events: str, **options):
        try:
            endpoint, secret = webhook_endpoint_create(url=url, events=events.split(","))
        except LoupeError as exc:
            raise CommandError(exc.detail) from None
        self.stderr.write(
            f"Added webhook endpoint {endpoint.id} → {endpoint.url} ({', '.join(endpoint.event_types)}). "
            "Its signing secret, shown only once:"
        )
        self.stdout.write(secret)
