"""Queues as the pages show them: which queues a user works from or supervises, their depth,
live leases and deadlines (`queue_summaries`), the deadline colours (`sla_state`), a queue's
open tasks page by page, and depth now and over time (the sampler's read and the chart's)."""

import datetime as dt
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from annotator.access import queues_for_associate
from annotator.models import Queue, QueueDepthSample, Slot, Task
from annotator.services.work import CLAIM_ORDER, LEASE_FREE, claimable_slots
from catalog.access import stores_for_user

# A task due within this window is "at risk" on the supervisor's page.
AT_RISK_WINDOW = dt.timedelta(minutes=5)


def sla_state(due_at: dt.datetime, *, now: dt.datetime) -> str:
    """A deadline as every page colours it: "breached" (past due), "at-risk" (due within
    AT_RISK_WINDOW) or "ok"."""
    if due_at <= now:
        return "breached"
    return "at-risk" if due_at <= now + AT_RISK_WINDOW else "ok"


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
    # The deadline of the task a claim would take first (priority, then due), not the
    # earliest deadline of the queue.
    next_due_at: dt.datetime | None
    next_due_state: str = "ok"

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
    queues = (queues if queues is not None else supervised_queues(user=user)).filter(store__in=stores_for_user(user))
    return _summaries(queues, user=user if for_work else None)


def store_queue_summaries(*, stores) -> list[QueueSummary]:
    """`queue_summaries` of every queue of `stores` (the caller has checked the stores)."""
    return _summaries(Queue.objects.filter(store__in=stores))


def _summaries(queues: QuerySet[Queue], *, user=None) -> list[QueueSummary]:
    now = timezone.now()
    queues = list(
        queues.select_related("store")
        .annotate(next_due=Subquery(_claim_head(user=user).values("due_at")[:1]))
        .order_by("store__code", "kind", "name")
    )
    if not queues:
        return []

    # The claim query's view of a lease (annotator.services.work.LEASE_FREE), at `now`.
    live = Q(holder__isnull=False, lease_expires_at__gte=now)
    free = ~live
    slots = Slot.objects.filter(queue__in=queues, state=Slot.State.OPEN)
    tasks = Task.objects.filter(queue__in=queues, status=Task.Status.OPEN)
    if user is not None:
        slots = slots.exclude(task__slots__holder=user).exclude(task__exclusions__user=user)
        tasks = tasks.exclude(slots__holder=user).exclude(exclusions__user=user)
    slot_rows = {
        row["queue"]: row
        for row in slots.values("queue").annotate(
            depth=Count("id", filter=free),
            in_progress=Count("id", filter=live),
            oldest_created=Min("created_at", filter=free),
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
                next_due_at=queue.next_due,
                next_due_state=sla_state(queue.next_due, now=now) if queue.next_due else "ok",
            )
        )
    return summaries


def _claim_head(*, user=None) -> QuerySet[Slot]:
    """The free slots of the outer query's queue in claim order (for `user`: those a claim
    may offer them), so `[:1]` is the slot a claim would take first: one index range scan
    of `slot_claim_order` per queue, inside the queues' query."""
    if user is not None:
        return claimable_slots(associate_id=user.pk, queue_id=OuterRef("pk"))
    return Slot.objects.filter(queue_id=OuterRef("pk"), state=Slot.State.OPEN).filter(LEASE_FREE).order_by(*CLAIM_ORDER)


# Open tasks per page of the queue control page.
OPEN_TASKS_PER_PAGE = 50


def open_tasks_page(*, queue: Queue, number=1, per_page: int = OPEN_TASKS_PER_PAGE) -> Page:
    """One page of a queue's open tasks in claim order (priority, then due, then arrival, as
    `slot_claim_order`), for the queue control page: every task is on some page, the
    lowest-priority ones (audits) on the last. `number` as the URL gives it; one that is not
    a number gives the first page, one out of range the last (`Paginator.get_page`)."""
    tasks = Task.objects.filter(queue=queue, status=Task.Status.OPEN)
    tasks = tasks.order_by("-priority", "due_at", "created_at", "pk")
    return Paginator(tasks, per_page).get_page(number)


# Up to this many queues the depth chart draws one line per queue; beyond, one per kind.
DEPTH_LINES_PER_QUEUE = 6


def queue_depth_series(*, stores, since: dt.datetime) -> dict[str, list[dict]]:
    """Depth samples of the stores' queues since `since`, oldest first, for the chart:
    `{label: [{"at", "depth", "in_progress"}]}`, one label per queue ("S001 · Visit
    validation") or, with more than DEPTH_LINES_PER_QUEUE queues, per kind summed over the
    stores (the samples of one run share their `at`, so they add up per moment)."""
    samples = QueueDepthSample.objects.filter(queue__store__in=stores, at__gte=since).order_by()
    per_queue = Queue.objects.filter(store__in=stores).count() <= DEPTH_LINES_PER_QUEUE
    if per_queue:
        rows = samples.values_list("queue__store__code", "queue__name", "at", "depth", "in_progress").order_by("at")
        labelled = ((f"{store} · {name}", at, depth, busy) for store, name, at, depth, busy in rows)
    else:
        rows = (
            samples.values("queue__kind", "at")
            .annotate(total=Sum("depth"), busy=Sum("in_progress"))
            .order_by("at")
            .values_list("queue__kind", "at", "total", "busy")
        )
        labelled = ((f"{kind.replace('_', ' ')} (all stores)", at, depth, busy) for kind, at, depth, busy in rows)
    series: dict[str, list[dict]] = {}
    for label, at, depth, in_progress in labelled:
        series.setdefault(label, []).append({"at": at.isoformat(), "depth": depth, "in_progress": in_progress})
    return series


def queue_depths() -> list[tuple[Queue, int, int]]:
    """(queue, depth, in_progress) of every queue now: one grouped query (the sampler's read)."""
    now = timezone.now()
    live = Q(holder__isnull=False, lease_expires_at__gte=now)
    counts = {
        row["queue"]: (row["depth"], row["in_progress"])
        for row in Slot.objects.filter(state=Slot.State.OPEN)
        .values("queue")
        .annotate(depth=Count("id", filter=~live), in_progress=Count("id", filter=live))
    }
    return [(queue, *counts.get(queue.pk, (0, 0))) for queue in Queue.objects.all()]
