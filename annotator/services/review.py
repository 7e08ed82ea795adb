"""A supervisor's review of submitted work: rejecting an annotation sends its task back.

Rejecting cancels the annotation's slot (the annotation stays, linked to it, as the record of
what was rejected) and opens a fresh slot in its place, so the task needs one more
annotation again. The rejected associate keeps holding the cancelled slot, which the unique
(task, holder) constraint turns into "never offered this task again"; a `TaskExclusion` with
cause `rejected` says so explicitly (and survives a later reassign attempt by a claim).

What a kind did on submit (for a visit: the verdicts applied, a receipt issued) is not
undone here: the next annotation of the task goes through the kind's on_submit again (for a
visit, a receipt that supersedes the first when the new cart differs).

The rejection itself (`Rejection`) is what reaches people: the rejected associate reads it on
their work home until they dismiss it, and the next associate reads its comment with the task.
"""

from django.db import transaction
from django.db.models import F, Max
from django.http import Http404
from django.utils import timezone

from annotator.models import Annotation, GoldTask, Rejection, Slot, Task, TaskExclusion
from catalog import roles
from catalog.access import user_has_store
from catalog.services.policy import control_record
from infra.errors import Conflict, LoupeError
from infra.text import storable

COMMENT_MAX = 2000
# TaskExclusion.reason keeps the start of the comment; the Rejection keeps all of it.
REASON_MAX = 500


@transaction.atomic
def annotation_reject(*, supervisor, annotation: Annotation, comment: str) -> Slot:
    """Reject a submitted annotation with a comment; returns the task's new open slot.

    Locks the task row, then the annotation's slot. 404 outside the supervisor's stores; 400
    `comment_required` without a comment, `comment_too_long` past COMMENT_MAX characters, or
    a NUL or lone surrogate in it; 409 `already_rejected` the second time, `gold_answer` for
    an answer to a gold task. The task is
    open again (done → open, one annotation fewer), its new slot keeps the task's place in
    the queue (same priority, due_at and created_at); the associate gets a TaskExclusion
    (cause rejected, the comment as reason) and a Rejection to read; the task's payload gets
    `rejection: {"comment", "rejected_at"}` (the latest), for whoever works it next.
    """
    if not isinstance(comment, str):
        raise LoupeError("comment must be a string.", code="invalid", field="comment")
    comment = storable(comment, "comment").strip()
    if not comment:
        raise LoupeError("Say why the work is rejected.", code="comment_required", field="comment")
    if len(comment) > COMMENT_MAX:
        raise LoupeError(f"At most {COMMENT_MAX} characters.", code="comment_too_long", field="comment")
    task = Task.objects.select_for_update().filter(pk=annotation.task_id).first()
    if task is None or not roles.is_supervisor(supervisor) or not user_has_store(supervisor, task.store):
        raise Http404("No such annotation.")
    if GoldTask.objects.filter(pk=task.pk).exists():
        # Its truth already scored it; a rejection would hand a gold task (and its comment) on.
        raise Conflict("An answer to a gold task is scored against its truth, not rejected.", code="gold_answer")
    changed = Slot.objects.filter(pk=annotation.slot_id, state=Slot.State.DONE).update(state=Slot.State.CANCELLED)
    if changed != 1:
        raise Conflict("This annotation was already rejected.", code="already_rejected")
    index = (Slot.objects.filter(task=task).aggregate(top=Max("index"))["top"] or 0) + 1
    slot = Slot.objects.create(
        task=task,
        index=index,
        queue_id=task.queue_id,
        priority=task.priority,
        due_at=task.due_at,
        created_at=task.created_at,
    )
    # The comment travels with the task: whoever claims it next (workbench or API) reads it
    # in the payload, with no query on the claim path.
    payload = dict(task.payload) if isinstance(task.payload, dict) else {}
    payload["rejection"] = {"comment": comment, "rejected_at": timezone.now().isoformat()}
    Task.objects.filter(pk=task.pk).update(
        annotations_done=F("annotations_done") - 1, status=Task.Status.OPEN, done_at=None, payload=payload
    )
    TaskExclusion.objects.update_or_create(
        task=task,
        user_id=annotation.associate_id,
        defaults={"cause": TaskExclusion.Cause.REJECTED, "reason": comment[:REASON_MAX]},
    )
    Rejection.objects.create(
        annotation=annotation, task=task, associate_id=annotation.associate_id, supervisor=supervisor, comment=comment
    )
    control_record(
        store_id=task.store_id,
        actor=supervisor,
        action="annotation_reject",
        target=f"task:{task.pk}",
        old={"annotation": str(annotation.pk), "associate": annotation.associate.get_username(), "status": task.status},
        new={"status": Task.Status.OPEN, "slot": slot.pk},
        comment=comment,
    )
    return slot


def annotation_is_rejected(annotation: Annotation) -> bool:
    return annotation.slot.state == Slot.State.CANCELLED


def rejection_dismiss(*, associate, rejection_id: int) -> None:
    """The associate has read a rejection of their work: their work home stops showing it.

    Only their own rejections (404 otherwise); dismissing twice changes nothing.
    """
    rejection = Rejection.objects.filter(pk=rejection_id, associate=associate).first()
    if rejection is None:
        raise Http404("No such rejection.")
    Rejection.objects.filter(pk=rejection.pk, dismissed_at__isnull=True).update(dismissed_at=timezone.now())
