"""Submit and release: the end of a lease (`annotator.services.work` has the rules).

- **Submit** is idempotent by `submission_id` (409 `duplicate_submission` on another task);
  it needs a live lease, fenced on the slot's token, and locks the task first.
- **Release** gives the slot back with a reason; the task is never offered to that associate again.
"""

import uuid

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, FilteredRelation, OuterRef, Q
from django.db.models.functions import Now
from django.http import Http404

from annotator import kinds
from annotator.access import tasks_for_user
from annotator.models import Annotation, GoldTask, Slot, Task, TaskExclusion
from annotator.services.work import (
    OPEN,
    RELEASE_REASON_MAX,
    accrued,
    free_changes,
    held_slot_rows,
    lease_lost,
)
from infra.errors import Conflict, LoupeError
from infra.text import storable


def _lock_own_task(*, associate, task_id: uuid.UUID) -> Task:
    """The task, locked, if it is in one of the associate's stores (404 otherwise), with
    their open slot of it (`held_slot_id`, `held_active_seconds`, `held_heartbeat_at`, None if
    none) and the database's time (`now`). The slot comes in by one LEFT JOIN on the unique
    (task, holder), not locked (FOR UPDATE OF the task only): the fenced UPDATE checks it."""
    held = FilteredRelation("slots", condition=Q(slots__holder_id=associate.pk, slots__state=OPEN))
    task = (
        tasks_for_user(associate)
        .select_for_update(of=("self",))
        .filter(pk=task_id)
        .annotate(
            held=held,
            held_slot_id=F("held__id"),
            held_active_seconds=F("held__active_seconds"),
            held_heartbeat_at=F("held__last_heartbeat_at"),
            # Read by the kinds' hooks (`annotator.services.gold.gold_for`) without a query.
            is_gold=Exists(GoldTask.objects.filter(pk=OuterRef("pk"))),
            now=Now(),
        )
        .first()
    )
    if task is None:
        raise Http404("No such task.")
    return task


def _retried_or_raise(error: Exception, *, associate, task_id: uuid.UUID, submission_id: uuid.UUID) -> Annotation:
    """The annotation an earlier request with this `submission_id` stored, if it was for
    this task (this submit is a retry); 409 `duplicate_submission` if it was for another;
    otherwise `error`. Asked only when the submit cannot go through: a stored submission
    finished its slot, so a retry always lands here."""
    previous = Annotation.objects.filter(associate_id=associate.pk, submission_id=submission_id).first()
    if previous is None:
        raise error
    if str(previous.task_id) != str(task_id):
        raise Conflict("This submission_id was already used for another task.", code="duplicate_submission")
    return previous


@transaction.atomic
def _submit(*, associate, task_id: uuid.UUID, result, submission_id: uuid.UUID, token: int | None) -> Annotation:
    task = _lock_own_task(associate=associate, task_id=task_id)
    kind = kinds.get(task.kind)
    try:
        if not isinstance(result, dict):
            raise LoupeError("result must be an object.", field="result")
        cleaned = kind.validate_result(task, result)
    except LoupeError as error:
        return _retried_or_raise(error, associate=associate, task_id=task.pk, submission_id=submission_id)
    now = task.now
    active_seconds = accrued(task.held_active_seconds or 0.0, task.held_heartbeat_at, now)
    # The live-lease check is the database's at the UPDATE (a heartbeat may have revived it).
    finished = held_slot_rows(associate=associate, task_id=task.pk, token=token).filter(
        pk=task.held_slot_id, lease_expires_at__gte=Now()
    )
    if task.held_slot_id is None or (
        finished.update(state=Slot.State.DONE, active_seconds=active_seconds, last_heartbeat_at=now) != 1
    ):
        return _retried_or_raise(lease_lost(), associate=associate, task_id=task.pk, submission_id=submission_id)
    annotation = Annotation.objects.create(
        task=task,
        slot_id=task.held_slot_id,
        store_id=task.store_id,
        associate=associate,
        kind=task.kind,
        result=cleaned,
        submission_id=submission_id,
        active_seconds=round(active_seconds, 3),
    )
    done = task.annotations_done + 1 >= task.overlap
    counted = {"annotations_done": F("annotations_done") + 1}
    if done:
        counted |= {"status": Task.Status.DONE, "done_at": now}
    Task.objects.filter(pk=task.pk).update(**counted)
    task.annotations_done += 1
    if done:
        task.status, task.done_at = Task.Status.DONE, now
    kind.on_submit(task, annotation)
    if done and kind.on_done is not None:
        kind.on_done(task)
    return annotation


def task_submit(
    *, associate, task_id: uuid.UUID, result, submission_id: uuid.UUID, token: int | None = None
) -> Annotation:
    """Store the associate's result for a task they hold, once.

    Locks the task row, 404 unless it is in one of the associate's stores (submits of one
    task serialize; this also makes the idempotency check exact). Then: the result is an
    object that fits the kind (400 with `field`); the slot is still this associate's, with a
    live lease (one conditional UPDATE to state done, fenced on holder and token; otherwise
    409 `lease_lost` and nothing is stored); the same `submission_id` again returns the stored
    annotation (on another task: 409 `duplicate_submission`). Stores the annotation with
    the active time, counts it on the task (done at its overlap) and runs the kind's
    on_submit (and on_done) hooks, all in one transaction."""
    try:
        return _submit(associate=associate, task_id=task_id, result=result, submission_id=submission_id, token=token)
    except IntegrityError as error:
        # Backstop of unique (associate, submission_id): a concurrent twin got there first,
        # or the id was used for another task. Without such an annotation the violation was
        # another one (data the caller cannot fix): it propagates.
        return _retried_or_raise(error, associate=associate, task_id=task_id, submission_id=submission_id)


def release_reason_check(reason) -> str:
    """A release reason: text of at most RELEASE_REASON_MAX characters the database can store."""
    if not isinstance(reason, str) or len(reason) > RELEASE_REASON_MAX:
        raise LoupeError(f"reason must be text of at most {RELEASE_REASON_MAX} characters.", field="reason")
    return storable(reason, "reason").strip()


@transaction.atomic
def task_release(*, associate, task_id: uuid.UUID, reason: str, token: int | None = None) -> None:
    """Give a held task back (skip). Frees the slot with a bumped token in one conditional
    UPDATE (409 `lease_lost` if it is no longer theirs; a gold task's slot is closed instead)
    and records a TaskExclusion so this associate is not offered the task again."""
    reason = release_reason_check(reason)
    held = held_slot_rows(associate=associate, task_id=task_id, token=token)
    if GoldTask.objects.filter(pk=task_id).exists():
        # A gold slot is theirs alone (served to them by the gold serve): it is closed, not
        # handed to whoever claims next; they count as served and are not offered it again.
        changes = {"state": Slot.State.CANCELLED, "lease_token": F("lease_token") + 1, "lease_expires_at": None}
    else:
        changes = free_changes()
    if held.update(**changes) != 1:
        raise lease_lost()
    TaskExclusion.objects.get_or_create(
        task_id=task_id, user_id=associate.pk, defaults={"cause": TaskExclusion.Cause.RELEASED, "reason": reason}
    )
