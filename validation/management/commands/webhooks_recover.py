"""`manage.py webhooks_recover [--every SECONDS]`

Re-enqueues webhook deliveries whose task run was lost (a worker killed mid-delivery leaves
its django-tasks row RUNNING and nothing retries it). Run it next to the workers: once from
cron, or as a long-running process with `--every 60`. See `validation.webhooks.deliveries_recover`.
"""

from infra.periodic import PeriodicCommand
from validation.webhooks import deliveries_recover


class Command(PeriodicCommand):
    help = "Re-enqueue webhook deliveries whose worker died mid-attempt."

    def run_once(self, **options) -> None:
        if recovered := deliveries_recover():
            self.stdout.write(f"Re-enqueued {recovered} webhook deliveries.")
