"""Sample every queue's depth for the supervisor's depth-over-time chart.

`manage.py queue_depth_sample` takes one sample; `--every 60` keeps sampling (run it next to
the worker, as `make run` does with `webhooks_recover`). Samples older than `--keep-days`
are deleted as it goes. Several samplers at once do no harm: they only add points.
"""

import time

from django.core.management.base import BaseCommand

from annotator.services.depth import queue_depth_sample


class Command(BaseCommand):
    help = "Record each queue's depth and live leases (for the supervisor's chart)."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="Repeat every N seconds (0: once).")
        parser.add_argument("--keep-days", type=int, default=7)

    def handle(self, *args, every: float, keep_days: int, **options):
        while True:
            written = queue_depth_sample(keep_days=keep_days)
            if options["verbosity"] > 1:
                self.stdout.write(f"{written} queue(s) sampled")
            if every <= 0:
                return
            time.sleep(every)
