"""`manage.py worker [db_worker's options]`: the background worker to run, on every machine.

django-tasks-db's `db_worker` with two changes:

- It serves every queue of `TASKS` by default (`--queue-name '*'`). `db_worker` serves only
  `default` unless told otherwise, and a worker started without the flag silently left the
  webhook deliveries and dataset exports waiting.
- A database error in its loop (the server restarted, a failover, a connection cut) no
  longer ends the process: it drops its connections, waits (1 s, doubling up to 30 s while
  the database stays away) and goes on. `db_worker` exited on the first one, and a worker
  that nobody restarts is the same as no worker.
"""

import logging
import os
import time
from contextlib import suppress

from django.core.management.base import CommandError
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker

logger = logging.getLogger("django_tasks_db")

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
# A worker that ran this long since its last database error starts its back-off over.
BACKOFF_RESET_S = 60.0


class ReconnectingWorker(db_worker.Worker):
    def run(self) -> None:
        backoff = FIRST_BACKOFF_S
        last_error_at = None
        while self.running:
            try:
                super().run()
                return  # --batch or --max-tasks said stop
            except (OperationalError, InterfaceError) as exc:
                now = time.monotonic()
                if last_error_at is not None and now - last_error_at > BACKOFF_RESET_S:
                    backoff = FIRST_BACKOFF_S
                last_error_at = now
                logger.warning("Database error in the worker (%s); reconnecting in %.0f s.", exc, backoff)
                for connection in connections.all(initialized_only=True):
                    with suppress(DatabaseError):
                        connection.close()
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)


class Command(db_worker.Command):
    help = "Run the background worker on every queue, reconnecting after database errors."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(queue_name="*")

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options,
    ) -> None:
        # db_worker.Command.handle with this module's worker (it builds db_worker.Worker).
        self.configure_logging(verbosity)
        queue_names = queue_name.split(",")
        excluded = exclude_queues.split(",") if exclude_queues else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = ReconnectingWorker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded,
        )
        if reload and not batch:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()  # only the reloaded child
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
