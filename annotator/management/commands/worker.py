"""`manage.py worker [db_worker's options]`: the background worker to run, on every machine.

django-tasks-db's `db_worker` with these changes:

- It serves every queue of `TASKS` by default (`--queue-name '*'`). `db_worker` serves only
  `default` unless told otherwise, and a worker started without the flag silently left the
  webhook deliveries and dataset exports waiting.
- A database error in its loop (the server restarted, a failover, a connection cut) no
  longer ends the process: it drops its connections, waits (1 s, doubling up to 30 s while
  the database stays away) and goes on. `db_worker` exited on the first one, and a worker
  that nobody restarts is the same as no worker.
- A task that a lost connection cut short runs again (up to `MAX_RUNS` runs in all).
  `db_worker` recorded it as failed, or could not even do that on the dead connection and
  left it RUNNING; either way nothing ran it again (a receipt's webhook waited for
  `webhooks_recover`, a dataset for its lease to run out). Once reconnected, the worker puts
  that row back to READY: the task runs again (at least once), and the tasks know their own
  interrupted run (`webhook_deliver`, `dataset_build` take their claim back when the run is
  the same).
- It says it is alive: a thread writes its heartbeat (`annotator.WorkerBeat`, with the queues
  it serves) every `WORKER_BEAT_S` seconds, which `/readyz` and the supervisor's console read.
"""

import logging
import os
import socket
import threading
import time
from contextlib import suppress

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.db.models import Q
from django.utils import timezone
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult, get_date_max

from annotator.services.workers import worker_beat

logger = logging.getLogger("django_tasks_db")

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
# A worker that ran this long since its last database error starts its back-off over.
BACKOFF_RESET_S = 60.0
DATABASE_LOST = (OperationalError, InterfaceError)
# How db_worker records a task that failed with one of those.
LOST_PATHS = [f"{error.__module__}.{error.__qualname__}" for error in DATABASE_LOST]
# A task is run at most this many times (db_worker adds the worker to `worker_ids` on each
# claim): an OperationalError that is the task's own (a statement timeout every time) must
# not make it run for ever.
MAX_RUNS = 5


def close_connections() -> None:
    """Drop this thread's connections (a dead one is never reused)."""
    for conn in connections.all(initialized_only=True):
        with suppress(DatabaseError):
            conn.close()


class Heartbeat(threading.Thread):
    """Writes the worker's `WorkerBeat` every `every` seconds on a connection of its own
    (connections are per thread), whatever the worker's loop is doing: a worker busy with a
    long export is alive. A database error costs one beat, never the thread."""

    def __init__(self, *, worker_id: str, queues: list[str], every: float):
        super().__init__(name="worker-heartbeat", daemon=True)
        self.worker_id, self.queues, self.every = worker_id, queues, every
        self.started_at = timezone.now()
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.is_set():
                try:
                    worker_beat(
                        worker_id=self.worker_id,
                        queues=self.queues,
                        hostname=socket.gethostname(),
                        pid=os.getpid(),
                        started_at=self.started_at,
                    )
                except DatabaseError as exc:
                    logger.warning("Worker heartbeat not written (%s).", exc)
                    close_connections()
                self.stopped.wait(self.every)
        finally:
            close_connections()

    def stop(self) -> None:
        self.stopped.set()


class ReconnectingWorker(db_worker.Worker):
    interrupted: DBTaskResult | None = None  # the run a database error cut short

    def served_queues(self) -> list[str]:
        configured = settings.TASKS[self.backend_name]["QUEUES"]
        names = configured if self.process_all_queues else self.queue_names
        return [name for name in names if name not in self.excluded_queue_names]

    def run(self) -> None:
        heartbeat = Heartbeat(worker_id=self.worker_id, queues=self.served_queues(), every=settings.WORKER_BEAT_S)
        heartbeat.start()
        try:
            self.run_reconnecting()
        finally:
            heartbeat.stop()

    def run_reconnecting(self) -> None:
        backoff = FIRST_BACKOFF_S
        last_error_at = None
        while self.running:
            try:
                self.requeue_interrupted()
                super().run()
                return  # --batch or --max-tasks said stop
            except DATABASE_LOST as exc:
                now = time.monotonic()
                if last_error_at is not None and now - last_error_at > BACKOFF_RESET_S:
                    backoff = FIRST_BACKOFF_S
                last_error_at = now
                logger.warning("Database error in the worker (%s); reconnecting in %.0f s.", exc, backoff)
                close_connections()
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    def run_task(self, db_task_result: DBTaskResult) -> None:
        runs_left = len(db_task_result.worker_ids) < MAX_RUNS  # this run is in worker_ids already
        try:
            super().run_task(db_task_result)
        except DATABASE_LOST:
            # db_worker could not even record the failure: the connection is gone.
            if runs_left:
                self.interrupted = db_task_result
            raise
        if (
            runs_left
            and db_task_result.status == TaskResultStatus.FAILED
            and db_task_result.exception_class_path in LOST_PATHS
        ):
            # Recorded as failed on a new connection (Django drops a connection whose
            # rollback failed, and the next query opens another): cut short all the same.
            self.interrupted = db_task_result
            self.requeue_interrupted()

    def requeue_interrupted(self) -> None:
        """Put the run a database error cut short back to READY: if it is still this worker's
        RUNNING row, or FAILED with the database error (`webhooks_recover` may have settled it
        meanwhile, as a lost worker)."""
        run = self.interrupted
        if run is None:
            return
        cut_short = Q(status=TaskResultStatus.RUNNING) | Q(
            status=TaskResultStatus.FAILED, exception_class_path__in=LOST_PATHS
        )
        requeued = DBTaskResult.objects.filter(cut_short, id=run.id).update(
            status=TaskResultStatus.READY, started_at=None, finished_at=None, run_after=get_date_max()
        )
        self.interrupted = None
        if requeued:
            logger.warning("Task %s (%s) was cut short by a database error; it runs again.", run.id, run.task_path)


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
