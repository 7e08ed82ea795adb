import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from annotator import kinds
from annotator.models import Queue, Slot, Snippet, Task
from annotator.services.people import queue_members_add_associates
from catalog.models import Store

DEFAULT_QUEUE_NAMES = {
    "visit_validation": "Visit validation",
    "snippet_annotation": "Snippet annotation",
}


def queue_for(*, store: Store, kind: str) -> Queue:
    """The store's default queue for a kind, created on first use (with the store's
    associates as its members). One SELECT when the queue exists."""
    kinds.get(kind)  # refuse unknown kinds early
    name = DEFAULT_QUEUE_NAMES.get(kind, kind.replace("_", " ").capitalize())
    queue = Queue.objects.filter(store=store, kind=kind, name=name).first()
    return queue if queue is not None else _queue_create(store=store, kind=kind, name=name)


@transaction.atomic
def _queue_create(*, store: Store, kind: str, name: str) -> Queue:
    queue, created = Queue.objects.get_or_create(store=store, kind=kind, name=name)
    if created:
        queue_members_add_associates(queue=queue)
    return queue


@dataclass(frozen=True)
class TaskSpec:
    """One task to enqueue (see `tasks_enqueue_many`)."""

    queue: Queue
    subject_id: uuid.UUID
    due_at: dt.datetime
    payload: dict
    priority: int = 0
    purpose: str = "review"
    overlap: int | None = None
    snippets: Iterable[Snippet] = ()
    # Not claimable until `tasks_open_waiting` (its snippet is still being redacted).
    waiting: bool = False


@transaction.atomic
def task_enqueue(
    *,
    queue: Queue,
    subject_id: uuid.UUID,
    due_at: dt.datetime,
    payload: dict,
    priority: int = 0,
    purpose: str = "review",
    overlap: int | None = None,
    snippets: Iterable[Snippet] = (),
    waiting: bool = False,
) -> Task:
    """Create a task with one slot per wanted annotation (the queue's overlap by default).

    The slots copy the task's ordering columns so the claim query is one index scan. A
    `waiting` task and its slots stay outside every claim until `tasks_open_waiting`.
    """
    spec = TaskSpec(queue, subject_id, due_at, payload, priority, purpose, overlap, snippets, waiting)
    return tasks_enqueue_many(specs=[spec])[0]


@transaction.atomic(savepoint=False)
def tasks_enqueue_many(*, specs: Sequence[TaskSpec]) -> list[Task]:
    """Create the tasks of `specs` (as `task_enqueue` does, in its order) in a fixed number of
    statements: one INSERT for the tasks, one for their slots, one for their snippets.

    Joins the caller's transaction without a savepoint (ingestion enqueues inside its own
    transaction and saves the round trips): if this raises, the caller's transaction is
    spoiled and must roll back. Locks nothing.
    """
    tasks = [
        Task(
            queue=spec.queue,
            store_id=spec.queue.store_id,
            kind=spec.queue.kind,
            subject_id=spec.subject_id,
            priority=spec.priority,
            due_at=spec.due_at,
            overlap=spec.overlap or spec.queue.overlap,
            payload=spec.payload,
            purpose=spec.purpose,
            status=Task.Status.WAITING if spec.waiting else Task.Status.OPEN,
        )
        for spec in specs
    ]
    if not tasks:
        return []
    Task.objects.bulk_create(tasks)
    Slot.objects.bulk_create(
        Slot(
            task=task,
            index=index,
            queue=spec.queue,
            priority=task.priority,
            due_at=task.due_at,
            created_at=task.created_at,
            state=Slot.State.WAITING if spec.waiting else Slot.State.OPEN,
        )
        for task, spec in zip(tasks, specs, strict=True)
        for index in range(task.overlap)
    )
    links = [
        Task.snippets.through(task_id=task.id, snippet_id=snippet.id)
        for task, spec in zip(tasks, specs, strict=True)
        for snippet in {snippet.id: snippet for snippet in spec.snippets}.values()
    ]
    if links:
        Task.snippets.through.objects.bulk_create(links)
    return tasks


@transaction.atomic(savepoint=False)
def tasks_open_waiting(*, snippet: Snippet) -> int:
    """Make the waiting tasks of `snippet` claimable (their slots open); returns how many.
    Joins the caller's transaction; conditional UPDATEs, so a second call changes nothing."""
    tasks = Task.objects.filter(snippets=snippet, status=Task.Status.WAITING)
    ids = list(tasks.values_list("pk", flat=True))
    Slot.objects.filter(task_id__in=ids, state=Slot.State.WAITING).update(state=Slot.State.OPEN)
    return Task.objects.filter(pk__in=ids, status=Task.Status.WAITING).update(status=Task.Status.OPEN)


@transaction.atomic(savepoint=False)
def tasks_cancel_waiting(*, snippet: Snippet) -> int:
    """Cancel the waiting tasks of `snippet` (its redaction failed: there is nothing to
    annotate); returns how many. Joins the caller's transaction."""
    tasks = Task.objects.filter(snippets=snippet, status=Task.Status.WAITING)
    ids = list(tasks.values_list("pk", flat=True))
    Slot.objects.filter(task_id__in=ids, state=Slot.State.WAITING).update(state=Slot.State.CANCELLED)
    return Task.objects.filter(pk__in=ids, status=Task.Status.WAITING).update(
        status=Task.Status.CANCELLED, done_at=timezone.now()
    )
