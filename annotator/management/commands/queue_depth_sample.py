"""Sample every queue's depth for the supervisor's depth-over-time chart.

`manage.py queue_depth_sample` takes one sample; `--every 60` keeps sampling (run it next to
the worker, as `make run` does with `webhooks_recover`). Samples older than `--keep-days`
are deleted as it goes. Several samplers at once do no harm: they only add points.
"""

from annotator.services.depth import queue_depth_sample
from infra.periodic import PeriodicCommand


class Command(PeriodicCommand):
    help = "Record each queue's depth and live leases (for the supervisor's chart)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--keep-days", type=int, default=7)

    def run_once(self, *, keep_days: int, verbosity: int, **options) -> None:
        written = queue_depth_sample(keep_days=keep_days)
        if verbosity > 1:
            self.stdout.write(f"{written} queue(s) sampled")
