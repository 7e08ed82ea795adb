"""Submitted annotations as supervisors read them: the accepted ones of a time window (rejected
work left out) and the latest ones for review."""

import datetime as dt

from django.db.models import QuerySet

from annotator.models import Annotation, MediaView, Slot, Task
from catalog.access import store_ids


def accepted_annotations(*, stores, since: dt.datetime) -> QuerySet[Annotation]:
    """Annotations on the stores' tasks since `since`, without those a supervisor rejected
    (a rejected annotation's slot is cancelled, see `annotation_reject`).

    The store is kept on the annotation, so the time range of `annotation_created` is joined
    to nothing: rejected work is the few annotations whose slot is cancelled
    (`slot_cancelled`), a hashed NOT IN."""
    return Annotation.objects.filter(created_at__gte=since, store_id__in=store_ids(stores)).exclude(
        slot__in=cancelled_slots()
    )


def cancelled_slots() -> QuerySet:
    """The ids of cancelled slots (a rejected annotation's), from the partial index
    `slot_cancelled`: few, so `exclude(slot__in=…)` is a hashed NOT IN, not a join."""
    return Slot.objects.filter(state=Slot.State.CANCELLED).values("pk")


def annotations_for_review(*, stores, associate_id: int | None = None, limit: int = 50) -> list[Annotation]:
    """The latest submitted annotations of the stores (optionally one associate's), newest first."""
    annotations = Annotation.objects.filter(task__store__in=stores)
    if associate_id is not None:
        annotations = annotations.filter(associate_id=associate_id)
    return list(annotations.select_related("associate", "task__queue__store", "slot").order_by("-created_at")[:limit])


MEDIA_VIEWS_SHOWN = 50


def task_media_views(*, task: Task, limit: int = MEDIA_VIEWS_SHOWN) -> list[MediaView]:
    """Who viewed the media of the task's snippets (for a visit's task: the visit's), latest
    first; `GET /api/v1/media-views/?visit=` pages through all of them."""
    return list(
        MediaView.objects.filter(snippet__in=task.snippets.values("pk"))
        .select_related("user", "snippet")
        .order_by("-pk")[:limit]
    )
