"""Reads of the annotator app for pages and dashboards. No writes here."""

import datetime as dt
import hashlib
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclasses_field
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Now
from django.utils import timezone

from annotator.access import queues_for_associate
from annotator.models import CORRECTING_VERDICTS, Annotation, Label, Queue, QueueDepthSample, Slot, Task, TaskExclusion
from annotator.services.work import CLAIM_ORDER, LEASE_FREE, claimable_slots
from catalog import roles
from catalog.access import store_ids, stores_for_user
from infra.stats import PercentileCont, grouped_percentiles

# A task due within this window is "at risk" on the supervisor's page.
AT_RISK_WINDOW = dt.timedelta(minutes=5)
HOUR = dt.timedelta(hours=1)


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


def held_slot(*, associate, task: Task) -> Slot | None:
    """The associate's slot of this task while their lease on it is live (database clock)."""
    return Slot.objects.filter(task=task, holder=associate, state=Slot.State.OPEN, lease_expires_at__gte=Now()).first()


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


# Supervisor's console: depth over time, associates ---------------------------------------------

# Figures too costly to read from raw rows on every refresh (a day or a week of annotations)
# are kept for a few seconds in the cache named "console" of settings.CACHES: a cache every
# web process shares (the database cache, or Redis), never a per-process one, so any process
# serves the same figures. Without that cache they are computed on every read. Queue state
# (depth, leases) is never cached.
CONSOLE_CACHE = "console"
CONSOLE_CACHE_SECONDS = 10
T = TypeVar("T")


def console_cached(name: str, *, stores, compute: Callable[[], T], seconds: int = CONSOLE_CACHE_SECONDS) -> T:
    """`compute()`, or its result for the same `name` and set of `stores` of the last `seconds`."""
    if CONSOLE_CACHE not in settings.CACHES:
        return compute()
    ids = sorted(store_ids(stores))
    key = f"console:{name}:" + hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:32]
    cache = caches[CONSOLE_CACHE]
    found = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, seconds)
    return found


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


def accepted_annotations(*, stores, since: dt.datetime) -> QuerySet[Annotation]:
    """Annotations on the stores' tasks since `since`, without those a supervisor rejected
    (a rejected annotation's slot is cancelled, see `annotation_reject`).

    The store is kept on the annotation, so the time range of `annotation_created` is joined
    to nothing: rejected work is the few annotations whose slot is cancelled
    (`slot_cancelled`), a hashed NOT IN."""
    return Annotation.objects.filter(created_at__gte=since, store_id__in=store_ids(stores)).exclude(
        slot__in=_cancelled_slots()
    )


def _cancelled_slots() -> QuerySet:
    """The ids of cancelled slots (a rejected annotation's), from the partial index
    `slot_cancelled`: few, so `exclude(slot__in=…)` is a hashed NOT IN, not a join."""
    return Slot.objects.filter(state=Slot.State.CANCELLED).values("pk")


@dataclass(frozen=True)
class Throughput:
    associate: str
    last_hour: int
    last_day: int
    median_active_s: float | None


def throughput(*, stores) -> list[Throughput]:
    """Per associate: tasks done in the last hour and day, median active seconds per task (day).

    One grouped query on PostgreSQL (counts and `percentile_cont` together); elsewhere the
    median is a second query (`grouped_percentiles`). Cached (`console_cached`)."""
    return console_cached("throughput", stores=stores, compute=lambda: _throughput(stores=stores))


def _throughput(*, stores) -> list[Throughput]:
    now = timezone.now()
    day = accepted_annotations(stores=stores, since=now - dt.timedelta(days=1)).order_by()
    figures = {"last_day": Count("created_at"), "last_hour": Count("created_at", filter=Q(created_at__gte=now - HOUR))}
    if connection.vendor == "postgresql":
        figures["median"] = PercentileCont(F("active_seconds"), 0.5)
    rows = list(day.values("associate_id").annotate(**figures))
    if connection.vendor != "postgresql":
        medians = grouped_percentiles(day, F("associate_id"), F("active_seconds"), (0.5,))
        for row in rows:
            row["median"] = medians.get(row["associate_id"], {}).get(0.5)
    names = dict(
        get_user_model().objects.filter(pk__in=[row["associate_id"] for row in rows]).values_list("pk", "username")
    )
    return sorted(
        (
            Throughput(
                associate=names[row["associate_id"]],
                last_hour=row["last_hour"],
                last_day=row["last_day"],
                median_active_s=row["median"],
            )
            for row in rows
        ),
        key=lambda item: (-item.last_day, item.associate),
    )


@dataclass
class AssociateFigures:
    user_id: int
    username: str
    stores: list[str]
    tasks_done: int = 0
    active_s: float = 0.0
    # {kind: median active seconds per task}
    median_s_by_kind: dict = dataclasses_field(default_factory=dict)
    releases: int = 0
    recent_release_reasons: list = dataclasses_field(default_factory=list)
    rejected: int = 0
    corrections: int = 0
    # (agreeing, compared) pairs of labels on one event: with other associates on the same
    # task (overlap), and with a later audit or dispute review of the same event.
    agreement_others: tuple[int, int] = (0, 0)
    agreement_audits: tuple[int, int] = (0, 0)

    @staticmethod
    def _share(pair: tuple[int, int]) -> float | None:
        return pair[0] / pair[1] if pair[1] else None

    @property
    def agreement_others_share(self) -> float | None:
        return self._share(self.agreement_others)

    @property
    def agreement_audits_share(self) -> float | None:
        return self._share(self.agreement_audits)


AGREEMENT_LABEL_LIMIT = 50_000
AGREEMENT_EVENT_CHUNK = 1_000


def associates_of(*, stores) -> QuerySet:
    """Active associates granted at least one of `stores`."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=roles.ASSOCIATE, storeaccess__store__in=stores)
        .distinct()
        .order_by("username")
    )


def associate_figures(*, stores, since: dt.datetime) -> list[AssociateFigures]:
    """The associates page: per associate of `stores`, their work on those stores since `since`.
    Cached per window length in minutes (`console_cached`)."""
    minutes = round((timezone.now() - since).total_seconds() / 60)
    return console_cached(
        f"associates:{minutes}", stores=stores, compute=lambda: _associate_figures(stores=stores, since=since)
    )


def _associate_figures(*, stores, since: dt.datetime) -> list[AssociateFigures]:
    """One grouped query per figure. The window's annotations and labels (a week of all stores
    is a few hundred thousand of each) are read from covering indexes, never joined to their
    tasks: `annotation_associate_time`, `label_window_correction`, `label_window_event`."""
    people = {
        user.pk: AssociateFigures(user_id=user.pk, username=user.get_username(), stores=[])
        for user in associates_of(stores=stores)
    }
    if not people:
        return []
    for user_id, code in (
        get_user_model()
        .objects.filter(pk__in=people, storeaccess__store__in=stores)
        .values_list("pk", "storeaccess__store__code")
        .order_by("storeaccess__store__code")
    ):
        people[user_id].stores.append(code)
    ids = store_ids(stores)
    _work(people, stores=stores, store_ids=ids, since=since)
    releases = TaskExclusion.objects.filter(
        task__store__in=stores, created_at__gte=since, cause=TaskExclusion.Cause.RELEASED, user_id__in=people
    )
    for row in releases.values("user_id").annotate(n=Count("id")):
        people[row["user_id"]].releases = row["n"]
    for user_id, reason in releases.order_by("-created_at").values_list("user_id", "reason")[:500]:
        reasons = people[user_id].recent_release_reasons
        if len(reasons) < 3 and reason:
            reasons.append(reason)
    corrections = Label.objects.filter(
        store_id__in=ids, created_at__gte=since, associate_id__in=people, verdict__in=CORRECTING_VERDICTS
    )
    for row in corrections.values("associate_id").annotate(n=Count("created_at")):
        people[row["associate_id"]].corrections = row["n"]
    _agreement(people, store_ids=ids, since=since)
    return list(people.values())


def _work(people: dict[int, AssociateFigures], *, stores, store_ids: list[int], since: dt.datetime) -> None:
    """Tasks done, active time and the median time per task by kind (rejected work left out),
    and rejected work, of the people on the stores' queues since `since`.

    The store is the task's, kept on the annotation and in the covering index, so the window
    is read from that index alone; when the stores hold every queue there is (so every
    annotation's store is theirs), the test is left out. Rejected work is the few annotations whose slot is
    cancelled (`slot_cancelled`): a hashed NOT IN, not a join of every annotation to its slot.
    """
    queues = Queue.objects.annotate(mine=ExpressionWrapper(Q(store__in=stores), output_field=BooleanField()))
    queue_rows = list(queues.values_list("pk", "kind", "mine"))
    annotations = Annotation.objects.filter(created_at__gte=since, associate_id__in=people).order_by()
    if not all(mine for _, _, mine in queue_rows):
        annotations = annotations.filter(store_id__in=store_ids)
    cancelled = _cancelled_slots()
    accepted = annotations.exclude(slot__in=cancelled)
    # An annotation's kind is its task's, which is its queue's. PostgreSQL takes the median of
    # each queue kind in the same pass (in the index's associate order: no sort by kind) and
    # counts annotations of any other kind, whose medians (none, unless a task changed kind)
    # take a second query; SQLite takes every median in Python (`grouped_percentiles`).
    kinds = sorted({kind for _, kind, mine in queue_rows if mine})
    figures = {"n": Count("created_at"), "active": Sum("active_seconds")}
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        figures["other_kinds"] = Count("created_at", filter=~Q(kind__in=kinds))
        for index, kind in enumerate(kinds):
            figures[f"median_{index}"] = PercentileCont(F("active_seconds"), 0.5, filter=Q(kind=kind))
    rows = list(accepted.values("associate_id").annotate(**figures))
    medians = {
        (row["associate_id"], kind): row[f"median_{index}"]
        for row in rows
        for index, kind in enumerate(kinds)
        if row.get(f"median_{index}") is not None
    }
    for row in rows:
        people[row["associate_id"]].tasks_done = row["n"]
        people[row["associate_id"]].active_s = row["active"] or 0.0
    rest = accepted.exclude(kind__in=kinds) if postgresql else accepted
    if not postgresql or any(row["other_kinds"] for row in rows):
        for kind in rest.values_list("kind", flat=True).distinct():
            for user_id, values in grouped_percentiles(
                rest.filter(kind=kind), F("associate_id"), F("active_seconds"), (0.5,)
            ).items():
                medians[user_id, kind] = values[0.5]
    for (user_id, kind), median in sorted(medians.items(), key=lambda item: item[0][1]):
        people[user_id].median_s_by_kind[kind] = median
    for row in annotations.filter(slot__in=cancelled).values("associate_id").annotate(n=Count("created_at")):
        people[row["associate_id"]].rejected = row["n"]


def _agreement(people: dict[int, AssociateFigures], *, store_ids: list[int], since: dt.datetime) -> None:
    """Pairs of labels on the same event by two people: same task (overlap) → agreement with
    others; the other from an audit or dispute task → agreement with audits. Two labels agree
    when their verdict and the human's reading (`human`) are the same.

    The events labelled more than once in the window come from `label_window_event` in one
    grouped query (run once, not once per parallel worker as a subquery would be); their
    labels, of any time and store, through `label_event`."""
    shared = sorted(
        Label.objects.filter(store_id__in=store_ids, created_at__gte=since, event_id__isnull=False)
        .values("event_id")
        .annotate(n=Count("created_at"))
        .filter(n__gt=1)
        .values_list("event_id", flat=True)
    )
    # Their labels in (event, seq) order, at most AGREEMENT_LABEL_LIMIT: one query per chunk of
    # events, in the same order (a UUID sorts in Python as in the database).
    rows: list[tuple] = []
    for start in range(0, len(shared), AGREEMENT_EVENT_CHUNK):
        if len(rows) >= AGREEMENT_LABEL_LIMIT:
            break
        rows += (
            Label.objects.filter(event_id__in=shared[start : start + AGREEMENT_EVENT_CHUNK])
            .order_by("event_id", "seq")
            .values_list("event_id", "task_id", "task__purpose", "associate_id", "verdict", "human")[
                : AGREEMENT_LABEL_LIMIT - len(rows)
            ]
        )
    by_event: dict = {}
    for row in rows:
        by_event.setdefault(row[0], []).append(row)
    tallies: dict[tuple[int, str], list[int]] = {}
    for labels in by_event.values():
        for _, task_id, purpose, associate_id, verdict, human in labels:
            if associate_id not in people or purpose in ("audit", "dispute"):
                continue
            for _, other_task, other_purpose, other_id, other_verdict, other_human in labels:
                if other_id == associate_id:
                    continue
                if other_task == task_id:
                    key = "others"
                elif other_purpose in ("audit", "dispute"):
                    key = "audits"
                else:
                    continue
                tally = tallies.setdefault((associate_id, key), [0, 0])
                tally[0] += verdict == other_verdict and human == other_human
                tally[1] += 1
    for (associate_id, key), (agree, total) in tallies.items():
        setattr(people[associate_id], f"agreement_{key}", (agree, total))


def annotations_for_review(*, stores, associate_id: int | None = None, limit: int = 50) -> list[Annotation]:
    """The latest submitted annotations of the stores (optionally one associate's), newest first."""
    annotations = Annotation.objects.filter(task__store__in=stores)
    if associate_id is not None:
        annotations = annotations.filter(associate_id=associate_id)
    return list(annotations.select_related("associate", "task__queue__store", "slot").order_by("-created_at")[:limit])


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
