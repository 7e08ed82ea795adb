"""`manage.py snippets_recover [--every SECONDS]`

Queues again the snippet redactions whose worker died (a killed worker leaves its django-tasks
row RUNNING and nothing runs it again; the snippet stays `redacting` past its lease), and fails
those that stalled SNIPPET_REDACT_ATTEMPTS times (their held upload deleted). Run it next to
the workers: once from cron, or as a long-running process with `--every 60`. See
`annotator.services.snippet_redaction.snippets_recover`.
"""

from annotator.services.snippet_redaction import snippets_recover
from infra.periodic import PeriodicCommand


class Command(PeriodicCommand):
    help = "Queue again snippet redactions whose worker died (their lease ran out)."

    def run_once(self, **options) -> None:
        if recovered := snippets_recover():
            self.stdout.write(f"Recovered {recovered} stalled snippet redactions.")
