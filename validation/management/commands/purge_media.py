"""Delete the media of snippets whose retention ran out (`validation.services.privacy`).

    python manage.py purge_media [--now ISO-TIME] [--dry-run] [--every SECONDS]

`--now` acts as if it were that time (tests, backfills); `--every` repeats until stopped
(what `make run` does).
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from validation.services.privacy import media_purge


class Command(BaseCommand):
    help = "Purge snippet media past each store's media_retention_days."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="ISO-8601 time with offset to act as if it were.")
        parser.add_argument("--dry-run", action="store_true", help="Only list what would be purged.")
        parser.add_argument("--every", type=float, default=0, help="Repeat every SECONDS (0: once).")

    def handle(self, *args, now=None, dry_run=False, every=0, **options):
        at = None
        if now:
            at = parse_datetime(now)
            if at is None or at.tzinfo is None:
                raise CommandError("--now must be an ISO-8601 time with its UTC offset.")
        while True:
            self._once(at or timezone.now(), dry_run)
            if not every:
                return
            time.sleep(every)

    def _once(self, now, dry_run: bool) -> None:
        results = media_purge(now=now, dry_run=dry_run)
        verb = "would purge" if dry_run else "purged"
        for result in results:
            self.stdout.write(f"{result.store}: {verb} {len(result.snippets)} snippet(s): {', '.join(result.snippets)}")
        total = sum(len(result.snippets) for result in results)
        self.stdout.write(f"{verb} {total} snippet(s) in {len(results)} store(s) as of {now.isoformat()}")
