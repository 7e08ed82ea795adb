import datetime as dt
import uuid
from collections.abc import Iterable

from django.db import transaction

from annotator import kinds
from annotator.models import Queue, Slot, Snippet, Task
from annotator.services.people import queue_members_add_associates
from catalog.models import Store

DEFAULT_QUEUE_NAMES = {
    "visit_validation": "Visit validation",
    "snippet_annotation": "Snippet annotation",
}


@transaction.atomic
def queue_for(*, store: Store, kind: str) -> Queue:
    """The store's default queue for a kind, created on first use (with the store's
    associates as its members)."""
    kinds.get(kind)  # refuse unknown kinds early
    queue, created = Queue.objects.get_or_create(
        store=store, kind=kind, name=DEFAULT_QUEUE_NAMES.get(kind, kind.replace("_", " ").capitalize())
    )
    if created:
        queue_members_add_associates(queue=queue)
    return queue


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
) -> Task:
    """Create a task with one slot per wanted annotation (the queue's overlap by default).

    The slots copy the task's ordering columns so the claim query is one index scan.
    """
    overlap = overlap or queue.overlap
    task = Task.objects.create(
        queue=queue,
        store_id=queue.store_id,
        kind=queue.kind,
        subject_id=subject_id,
        priority=priority,
        due_at=due_at,
        overlap=overlap,
        payload=payload,
        purpose=purpose,
    )
    if snippets := list(snippets):
        task.snippets.add(*snippets)
    Slot.objects.bulk_create(
        Slot(
            task=task,
            index=index,
            queue=queue,
            priority=priority,
            due_at=due_at,
            created_at=task.created_at,
        )
        for index in range(overlap)
    )
    return task
