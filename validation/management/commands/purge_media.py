"""Delete the media of snippets whose retention ran out (`validation.services.privacy`).

    python manage.py purge_media [--now ISO-TIME] [--dry-run] [--every SECONDS]

`--now` acts as if it were that time (tests, backfills); `--every` repeats until stopped
(what `make run` does).
"""

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from infra.periodic import PeriodicCommand
from validation.services.privacy import media_purge


class Command(PeriodicCommand):
    help = "Purge snippet media past each store's media_retention_days."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--now", help="ISO-8601 time with offset to act as if it were.")
        parser.add_argument("--dry-run", action="store_true", help="Only list what would be purged.")

    def prepare(self, *, now=None, **options) -> None:
        self.at = None
        if now:
            self.at = parse_datetime(now)
            if self.at is None or self.at.tzinfo is None:
                raise CommandError("--now must be an ISO-8601 time with its UTC offset.")

    def run_once(self, *, dry_run: bool = False, **options) -> None:
        now = self.at or timezone.now()
        results = media_purge(now=now, dry_run=dry_run)
        verb = "would purge" if dry_run else "purged"
        for result in results:
            self.stdout.write(f"{result.store}: {verb} {len(result.snippets)} snippet(s): {', '.join(result.snippets)}")
        total = sum(len(result.snippets) for result in results)
        self.stdout.write(f"{verb} {total} snippet(s) in {len(results)} store(s) as of {now.isoformat()}")
