"""Reads of supervisors' rejections as the people they concern see them: the rejected
associate's unread ones (work home) and the latest one of a task (its next associate's screen,
from the task's payload)."""

import datetime as dt
from dataclasses import dataclass, field

from annotator import kinds
from annotator.models import Annotation, Rejection, Slot, Task

UNREAD_LIMIT = 10


@dataclass(frozen=True)
class RejectionNotice:
    id: int
    comment: str
    created_at: dt.datetime
    supervisor: str
    kind_label: str
    store: str
    queue: str
    task_id: str
    submitted_at: dt.datetime
    # When another associate answered the task again, and what that answer changed.
    redone_at: dt.datetime | None = None
    changes: list[str] = field(default_factory=list)


def _kind_label(name: str) -> str:
    try:
        return kinds.get(name).label
    except LookupError:
        return name


def _redo(rejection: Rejection) -> Annotation | None:
    return (
        Annotation.objects.filter(
            task_id=rejection.task_id, slot__state=Slot.State.DONE, created_at__gt=rejection.created_at
        )
        .only("result", "created_at")
        .order_by("created_at")
        .first()
    )


def rejections_unread(*, associate, limit: int = UNREAD_LIMIT) -> list[RejectionNotice]:
    """The associate's rejections they have not dismissed, newest first (from `rejection_unread`)."""
    rows = (
        Rejection.objects.filter(associate=associate, dismissed_at__isnull=True)
        .select_related("supervisor", "task__queue__store", "annotation")
        .order_by("-created_at")[:limit]
    )
    notices = []
    for rejection in rows:
        task = rejection.task
        redo = _redo(rejection)
        changes = []
        if redo is not None:
            compare = _compare(task)
            if compare is not None:
                changes = compare(task, rejection.annotation.result, redo.result)
        notices.append(
            RejectionNotice(
                id=rejection.pk,
                comment=rejection.comment,
                created_at=rejection.created_at,
                supervisor=rejection.supervisor.get_username(),
                kind_label=_kind_label(task.kind),
                store=task.queue.store.code,
                queue=task.queue.name,
                task_id=str(task.pk),
                submitted_at=rejection.annotation.created_at,
                redone_at=redo.created_at if redo is not None else None,
                changes=changes,
            )
        )
    return notices


def _compare(task: Task):
    try:
        return kinds.get(task.kind).compare
    except LookupError:
        return None


def task_rejection(*, task: Task) -> dict | None:
    """The latest rejection of work on this task as its payload carries it (`{"comment",
    "rejected_at"}`, written by `annotation_reject`): what its next associate reads with it."""
    payload = task.payload if isinstance(task.payload, dict) else {}
    rejection = payload.get("rejection")
    return rejection if isinstance(rejection, dict) and rejection.get("comment") else None
