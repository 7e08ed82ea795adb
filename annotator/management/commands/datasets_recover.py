"""`manage.py datasets_recover [--every SECONDS]`

Queues again the dataset builds whose worker died (a killed worker leaves its django-tasks
row RUNNING and nothing runs it again; the dataset stays `running` past its lease). Run it
next to the workers: once from cron, or as a long-running process with `--every 60`. See
`annotator.services.datasets.datasets_recover`.
"""

from annotator.services.datasets import datasets_recover
from infra.periodic import PeriodicCommand


class Command(PeriodicCommand):
    help = "Queue again dataset builds whose worker died (their lease ran out)."

    def run_once(self, **options) -> None:
        if recovered := datasets_recover():
            self.stdout.write(f"Queued {recovered} stalled dataset builds again.")
