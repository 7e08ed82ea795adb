"""Reads of the annotator app for pages and dashboards. No writes here."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import BooleanField, Count, ExpressionWrapper, Min, Q, QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from annotator.access import queues_for_associate
from annotator.models import Queue, Slot, Task
from annotator.services.work import claimable_slots
from catalog.access import stores_for_user

# A task due within this window is "at risk" on the supervisor's page.
AT_RISK_WINDOW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class QueueSummary:
    queue: Queue
    # Slots waiting to be claimed (free, or under an expired lease).
    depth: int
    # Slots under a live lease.
    in_progress: int
    # Open tasks due within AT_RISK_WINDOW, and open tasks already past due.
    at_risk: int
    breached: int
    oldest_waiting_s: float | None
    next_due_at: dt.datetime | None

    @property
    def is_paused(self) -> bool:
        return self.queue.is_paused

    @property
    def oldest_waiting(self) -> str:
        """The oldest wait as a dashboard reads it: "45 s", "4 min 12 s", "2 h 5 min"."""
        if self.oldest_waiting_s is None:
            return ""
        seconds = max(int(self.oldest_waiting_s), 0)
        if seconds < 60:
            return f"{seconds} s"
        if seconds < 3600:
            return f"{seconds // 60} min {seconds % 60} s"
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def work_queues(*, user) -> QuerySet[Queue]:
    """The queues an associate works from: their memberships in the stores they are granted,
    paused queues left out."""
    return queues_for_associate(user).filter(is_paused=False)


def supervised_queues(*, user) -> QuerySet[Queue]:
    """Every queue of the stores the user is granted, paused ones included."""
    return Queue.objects.filter(store__in=stores_for_user(user))


def queue_summaries(*, user, queues: QuerySet[Queue] | None = None, for_work: bool = False) -> list[QueueSummary]:
    """Depth, live leases and deadlines per queue, in two grouped queries.

    `queues` defaults to the user's supervised queues and is always narrowed to the user's
    stores. With `for_work`, the counts leave out tasks this user may not be offered again
    (already annotated by them, or released/excluded), so "waiting" means "waiting for you".
    """
    now = timezone.now()
    queues = (queues if queues is not None else supervised_queues(user=user)).filter(
        store__in=stores_for_user(user)
    )
    queues = list(queues.select_related("store").order_by("store__code", "kind", "name"))
    if not queues:
        return []

    # The claim query's view of a lease (annotator.services.work.LEASE_FREE), at `now`.
    live = Q(holder__isnull=False, lease_expires_at__gte=now)
    free = ~live
    slots = Slot.objects.filter(queue__in=queues, state=Slot.State.OPEN)
    tasks = Task.objects.filter(queue__in=queues, status=Task.Status.OPEN)
    if for_work:
        slots = slots.exclude(task__slots__holder=user).exclude(task__exclusions__user=user)
        tasks = tasks.exclude(slots__holder=user).exclude(exclusions__user=user)
    slot_rows = {
        row["queue"]: row
        for row in slots.values("queue").annotate(
            depth=Count("id", filter=free),
            in_progress=Count("id", filter=live),
            oldest_created=Min("created_at", filter=free),
            next_due=Min("due_at", filter=free),
        )
    }
    task_rows = {
        row["queue"]: row
        for row in tasks.values("queue").annotate(
            at_risk=Count("id", filter=Q(due_at__gt=now, due_at__lte=now + AT_RISK_WINDOW)),
            breached=Count("id", filter=Q(due_at__lte=now)),
        )
    }

    summaries = []
    for queue in queues:
        slot_row = slot_rows.get(queue.pk, {})
        task_row = task_rows.get(queue.pk, {})
        oldest = slot_row.get("oldest_created")
        summaries.append(
            QueueSummary(
                queue=queue,
                depth=slot_row.get("depth", 0),
                in_progress=slot_row.get("in_progress", 0),
                at_risk=task_row.get("at_risk", 0),
                breached=task_row.get("breached", 0),
                oldest_waiting_s=(now - oldest).total_seconds() if oldest else None,
                next_due_at=slot_row.get("next_due"),
            )
        )
    return summaries


def held_slot(*, associate, task: Task) -> Slot | None:
    """The associate's slot of this task while their lease on it is live (database clock)."""
    return Slot.objects.filter(
        task=task, holder=associate, state=Slot.State.OPEN, lease_expires_at__gte=Now()
    ).first()


@dataclass(frozen=True)
class HeldLease:
    """One row of "who holds what" on the supervisor's console."""

    slot_id: int
    task_id: str
    kind: str
    queue: str
    store: str
    associate: str
    since: dt.datetime
    last_heartbeat_at: dt.datetime | None
    expires_at: dt.datetime
    # False once the lease has expired (by the database clock) and nobody has taken the slot yet.
    live: bool


def leases_held(*, stores) -> list[HeldLease]:
    """Every held lease (live, or expired but not yet taken) on open slots of these stores,
    longest-held first."""
    live = ExpressionWrapper(Q(lease_expires_at__gte=Now()), output_field=BooleanField())
    rows = (
        Slot.objects.filter(task__store__in=stores, state=Slot.State.OPEN, holder__isnull=False)
        .annotate(live=live)
        .select_related("task", "queue__store", "holder")
        .order_by("leased_at", "id")
    )
    return [
        HeldLease(
            slot_id=slot.pk,
            task_id=str(slot.task_id),
            kind=slot.task.kind,
            queue=slot.queue.name,
            store=slot.queue.store.code,
            associate=slot.holder.get_username(),
            since=slot.leased_at,
            last_heartbeat_at=slot.last_heartbeat_at,
            expires_at=slot.lease_expires_at,
            live=slot.live,
        )
        for slot in rows
    ]


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
