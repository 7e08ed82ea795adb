"""Background work at a glance, per task queue: are workers serving it, and how long has its
oldest task been waiting. Read by `/readyz` and the supervisor's console.

A worker counts as alive when its heartbeat (`WorkerBeat`, written every `WORKER_BEAT_S` by
`manage.py worker`) is younger than `WORKER_ALIVE_S`. A waiting task is one django-tasks-db
would hand to a worker now (ready, due): for the `webhooks` queue a receipt's delivery to
billing, for `exports` a dataset build. Two queries, whatever the number of workers.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, Count, F, Min, When
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from annotator.models import WorkerBeat
from annotator.services.workers import FORGET_AFTER


@dataclass(frozen=True)
class QueueWork:
    queue: str
    title: str
    workers: int  # alive now
    last_seen_s: int | None  # since a worker serving it was last seen; None: none in a day
    waiting: int
    oldest_waiting_s: int | None  # None: nothing waiting

    @property
    def served(self) -> bool:
        return self.workers > 0

    def as_json(self) -> dict:
        return {
            "workers": self.workers,
            "last_seen_s": self.last_seen_s,
            "waiting": self.waiting,
            "oldest_waiting_s": self.oldest_waiting_s,
        }


def _age_s(now: dt.datetime, then: dt.datetime | None) -> int | None:
    return None if then is None else max(int((now - then).total_seconds()), 0)


def background_work(*, now: dt.datetime | None = None) -> list[QueueWork]:
    """Every configured task queue, in the settings' order."""
    now = now or timezone.now()
    queues = list(settings.TASKS["default"]["QUEUES"])
    alive_since = now - dt.timedelta(seconds=settings.WORKER_ALIVE_S)
    alive = dict.fromkeys(queues, 0)
    last_seen: dict[str, dt.datetime] = {}
    for served, seen_at in WorkerBeat.objects.filter(seen_at__gte=now - FORGET_AFTER).values_list("queues", "seen_at"):
        for queue in set(served) & set(queues):
            alive[queue] += seen_at >= alive_since
            last_seen[queue] = max(seen_at, last_seen.get(queue, seen_at))
    # A task without run_after is due from when it was enqueued.
    due_since = Case(When(run_after=get_date_max(), then=F("enqueued_at")), default=F("run_after"))
    waiting = {
        row["queue_name"]: row
        for row in DBTaskResult.objects.ready()
        .filter(queue_name__in=queues)
        .order_by()
        .values("queue_name")
        .annotate(count=Count("id"), oldest=Min(due_since))
    }
    titles = settings.TASK_QUEUE_TITLES
    return [
        QueueWork(
            queue=queue,
            title=titles.get(queue, queue),
            workers=alive[queue],
            last_seen_s=_age_s(now, last_seen.get(queue)),
            waiting=waiting.get(queue, {}).get("count", 0),
            oldest_waiting_s=_age_s(now, waiting.get(queue, {}).get("oldest")),
        )
        for queue in queues
    ]
