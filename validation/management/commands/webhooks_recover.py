"""`manage.py webhooks_recover [--every SECONDS]`

Re-enqueues webhook deliveries whose task run was lost (a worker killed mid-delivery leaves
its django-tasks row RUNNING and nothing retries it). Run it next to the workers: once from
cron, or as a long-running process with `--every 60`. See `validation.webhooks.deliveries_recover`.
"""

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from validation.webhooks import deliveries_recover


class Command(BaseCommand):
    help = "Re-enqueue webhook deliveries whose worker died mid-attempt."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="repeat every SECONDS (default: run once)")

    def handle(self, *args, every: float, **options):
        while True:
            close_old_connections()
            if recovered := deliveries_recover():
                self.stdout.write(f"Re-enqueued {recovered} webhook deliveries.")
            if not every:
                return
            time.sleep(every)
