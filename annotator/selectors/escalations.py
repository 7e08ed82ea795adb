"""Escalations waiting for a supervisor: open tasks of the stores' supervisors-only queues
(`annotator.services.handback`; for snippets, adjudications: `annotator.services.consensus`),
earliest deadline first, with their SLA state."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from annotator.models import Task
from annotator.selectors.queues import sla_state
from catalog.models import Store

LIST_LIMIT = 20


@dataclass(frozen=True)
class Escalation:
    task_id: str
    store: str
    purpose: str
    due_at: dt.datetime
    sla: str  # ok, at-risk, breached
    seconds_left: float


@dataclass(frozen=True)
class Escalations:
    waiting: int
    at_risk: int
    breached: int
    first: list[Escalation]


def escalations_waiting(
    *, stores: QuerySet[Store] | list[Store], kind: str | None = None, now: dt.datetime | None = None
) -> Escalations:
    """Open tasks of the stores' supervisors-only queues (of one task kind, if given)."""
    now = now or timezone.now()
    tasks = Task.objects.filter(store__in=stores, queue__supervisors_only=True, status=Task.Status.OPEN)
    if kind is not None:
        tasks = tasks.filter(kind=kind)
    tasks = tasks.select_related("store")
    rows = list(tasks.order_by("due_at", "created_at")[:LIST_LIMIT])
    states = [sla_state(due_at, now=now) for due_at in tasks.values_list("due_at", flat=True)]
    return Escalations(
        waiting=len(states),
        at_risk=states.count("at-risk"),
        breached=states.count("breached"),
        first=[
            Escalation(
                task_id=str(task.pk),
                store=task.store.code,
                purpose=task.purpose,
                due_at=task.due_at,
                sla=sla_state(task.due_at, now=now),
                seconds_left=(task.due_at - now).total_seconds(),
            )
            for task in rows
        ],
    )
