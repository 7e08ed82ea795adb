"""Reads of the validation app for the API and pages. No writes here."""

from django.db.models import Q, QuerySet
from django.db.models.functions import Now

from annotator.models import MediaView, Slot, Task
from validation.models import CartCorrection, Event, Receipt, Visit
from validation.visit_kind import VISIT_VALIDATION


def visit_tasks(visit: Visit):
    return Task.objects.filter(kind=VISIT_VALIDATION, subject_id=visit.id)


def visit_status(visit: Visit) -> str:
    """The stored status, except that a pending visit whose task someone holds a live lease
    on reads as `in_review` (leases expire lazily, so this is derived, never stored)."""
    if visit.status != Visit.Status.PENDING_REVIEW:
        return visit.status
    leased = Slot.objects.filter(
        task__kind=VISIT_VALIDATION,
        task__subject_id=visit.id,
        state=Slot.State.OPEN,
        holder__isnull=False,
        lease_expires_at__gt=Now(),
    ).exists()
    return Visit.Status.IN_REVIEW if leased else visit.status


def visit_task_id(visit: Visit):
    """The visit's latest review (or dispute) task; audit tasks are Loupe's own business."""
    return visit_tasks(visit).exclude(purpose="audit").order_by("-created_at").values_list("id", flat=True).first()


def visit_latest_receipt(visit: Visit) -> Receipt | None:
    return visit.receipts.prefetch_related("lines").order_by("-issued_at").first()


def visit_media_views(*, visit: Visit) -> QuerySet[MediaView]:
    """Every view of media of the visit's snippets (its events' and its corrections'), oldest
    first (by id, which grows with `viewed_at`)."""
    snippets = Q(snippet__in=Event.objects.filter(visit=visit, snippet__isnull=False).values("snippet")) | Q(
        snippet__in=CartCorrection.objects.filter(visit=visit, snippet__isnull=False).values("snippet")
    )
    return MediaView.objects.filter(snippets).select_related("user", "snippet").order_by("pk")
