"""The base of Loupe's periodic commands (`webhooks_recover`, `datasets_recover`, `purge_media`,
`queue_depth_sample`): run once (from cron), or with `--every SECONDS` as a long-running
process next to the workers, as `make run` and the systemd units do.

Each round starts by dropping connections that went stale or broke (a database restart, or
CONN_MAX_AGE passed), which requests get from Django's request signals and a long-running
command does not. With `--every`, a round that a lost database cuts short is logged and the
next round tries again: the process outlives a database restart, as `manage.py worker` does
(a run once still fails, so cron sees it)."""

import logging
import time
from contextlib import suppress

from django.core.management.base import BaseCommand
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connections

logger = logging.getLogger(__name__)


class PeriodicCommand(BaseCommand):
    def add_arguments(self, parser) -> None:
        parser.add_argument("--every", type=float, default=0, help="repeat every SECONDS (default 0: run once)")

    def handle(self, *args, every: float = 0, **options) -> None:
        self.prepare(**options)
        while True:
            close_old_connections()
            if every <= 0:
                self.run_once(**options)
                return
            try:
                self.run_once(**options)
            except (OperationalError, InterfaceError) as exc:
                logger.warning("%s: database error (%s); trying again in %.0f s.", self.__module__, exc, every)
                for connection in connections.all(initialized_only=True):
                    with suppress(DatabaseError):
                        connection.close()
            time.sleep(every)

    def prepare(self, **options) -> None:
        """Check the options once, before the first round (raise CommandError)."""

    def run_once(self, **options) -> None:
        raise NotImplementedError
