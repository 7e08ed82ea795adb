"""Reads of an associate's own work: the slot they hold on a task, the tasks a claim would
likely give them next (the workbench's preview), and their figures of the day (work home)."""

import statistics
from dataclasses import dataclass

from django.db.models.functions import Now
from django.utils import timezone

from annotator.models import Annotation, Queue, Slot, Task
from annotator.selectors.queues import work_queues
from annotator.services.work import claimable_slots


def held_slot(*, associate, task: Task) -> Slot | None:
    """The associate's slot of this task while their lease on it is live (database clock)."""
    return Slot.objects.filter(task=task, holder=associate, state=Slot.State.OPEN, lease_expires_at__gte=Now()).first()


def _without_media_urls(value):
    if isinstance(value, dict):
        return {key: _without_media_urls(item) for key, item in value.items() if not str(key).endswith("url")}
    if isinstance(value, list):
        return [_without_media_urls(item) for item in value]
    return value


def task_lookahead(*, associate, queue: Queue | None = None, limit: int = 1) -> list[dict]:
    """The tasks a claim would most likely give this associate next (after the one they
    hold), as previews `{"id", "kind", "queue", "due_at", "payload"}` without media URLs.
    Leases nothing and locks nothing: another associate may take them first."""
    queues = work_queues(user=associate)
    if queue is not None:
        queues = queues.filter(pk=queue.pk)
    heads = []
    for queue_id in queues.values_list("id", flat=True):
        heads += claimable_slots(associate_id=associate.pk, queue_id=queue_id).values_list(
            "priority", "due_at", "created_at", "id", "task_id"
        )[: limit * 3]
    heads.sort(key=lambda row: (-row[0], row[1], row[2], row[3]))
    task_ids = list(dict.fromkeys(row[4] for row in heads))[:limit]
    tasks = Task.objects.in_bulk(task_ids)
    return [
        {
            "id": task.pk,
            "kind": task.kind,
            "queue": task.queue_id,
            "due_at": task.due_at,
            "payload": _without_media_urls(task.payload),
        }
        for task in (tasks[task_id] for task_id in task_ids)
    ]


@dataclass(frozen=True)
class DayFigures:
    tasks_done: int
    median_active_s: float | None


def associate_today(*, associate) -> DayFigures:
    """The associate's own figures since midnight (server time zone): tasks submitted and the
    median server-measured active seconds per task. One associate's day is a few hundred rows at
    most, so the median is taken in Python and reads the same on PostgreSQL and SQLite."""
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    today = Annotation.objects.filter(associate=associate, created_at__gte=midnight)
    seconds = list(today.values_list("active_seconds", flat=True))
    return DayFigures(tasks_done=len(seconds), median_active_s=statistics.median(seconds) if seconds else None)
