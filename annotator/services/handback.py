"""Handing a task back: its last annotation did not finish it, so it needs another person.

A kind calls `task_hand_back` from its on_submit when the submitted answer is no answer yet
(a visit validation with an event marked "can't tell"). The annotation stays as the record
of what was said; the task is open again with one more slot, in its own queue or in
another one (the store's `escalation` queue, claimed by supervisors only), with the same
due_at. The associate who answered keeps their finished slot, which the unique (task,
holder) constraint turns into "never offered this task again"; a `TaskExclusion` says so
explicitly, with its cause.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Max

from annotator.models import Annotation, Queue, QueueMembership, Slot, Task, TaskExclusion
from catalog import roles
from catalog.models import Store

ESCALATION = "escalation"


def escalation_queue(*, store: Store, kind: str) -> Queue:
    """The store's `escalation` queue of a kind (see `supervisors_queue`)."""
    return supervisors_queue(store=store, kind=kind, name=ESCALATION)


@transaction.atomic
def supervisors_queue(*, store: Store, kind: str, name: str) -> Queue:
    """The store's supervisors-only queue of a kind by that name (`escalation`, and
    `adjudication` for snippets: annotator.services.consensus), created on first use, with
    the store's supervisors its members (each call adds supervisors granted since)."""
    queue, _ = Queue.objects.get_or_create(store=store, kind=kind, name=name, defaults={"supervisors_only": True})
    if not queue.supervisors_only:
        queue.supervisors_only = True
        queue.save(update_fields=["supervisors_only"])
    supervisors = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=roles.SUPERVISOR, storeaccess__store=store)
        .distinct()
    )
    QueueMembership.objects.bulk_create(
        [QueueMembership(queue=queue, user=user) for user in supervisors], ignore_conflicts=True
    )
    return queue


@transaction.atomic(savepoint=False)
def task_hand_back(
    *, task: Task, annotation: Annotation, cause: str, reason: str = "", queue: Queue | None = None
) -> Slot:
    """Open `task` again for someone other than the annotation's author; returns its new slot.

    Call inside the submit transaction (which holds the task row lock) after the annotation
    was counted. The task goes back to open with one annotation fewer counted, into `queue`
    if given (its slots follow), with its priority, due_at and created_at: the same place in
    the queue's order it had."""
    target = queue.pk if queue is not None else task.queue_id
    index = (Slot.objects.filter(task=task).aggregate(top=Max("index"))["top"] or 0) + 1
    slot = Slot.objects.create(
        task=task,
        index=index,
        queue_id=target,
        priority=task.priority,
        due_at=task.due_at,
        created_at=task.created_at,
    )
    if target != task.queue_id:
        Slot.objects.filter(task=task, state=Slot.State.OPEN).update(queue_id=target)
    Task.objects.filter(pk=task.pk).update(
        annotations_done=F("annotations_done") - 1, status=Task.Status.OPEN, done_at=None, queue_id=target
    )
    task.annotations_done -= 1
    task.status, task.done_at, task.queue_id = Task.Status.OPEN, None, target
    TaskExclusion.objects.update_or_create(
        task=task, user_id=annotation.associate_id, defaults={"cause": cause, "reason": reason[:500]}
    )
    return slot
