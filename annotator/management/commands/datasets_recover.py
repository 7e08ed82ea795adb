"""`manage.py datasets_recover [--every SECONDS]`

Queues again the dataset builds whose worker died (a killed worker leaves its django-tasks
row RUNNING and nothing runs it again; the dataset stays `running` past its lease). Run it
next to the workers: once from cron, or as a long-running process with `--every 60`. See
`annotator.services.datasets.datasets_recover`.
"""

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from annotator.services.datasets import datasets_recover


class Command(BaseCommand):
    help = "Queue again dataset builds whose worker died (their lease ran out)."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="repeat every SECONDS (default: run once)")

    def handle(self, *args, every: float, **options):
        while True:
            close_old_connections()
            if recovered := datasets_recover():
                self.stdout.write(f"Queued {recovered} stalled dataset builds again.")
            if not every:
                return
            time.sleep(every)
