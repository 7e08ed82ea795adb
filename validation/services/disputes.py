"""Disputes: a receipt contested (by customer service through the API, or a supervisor) sends
the visit back to review, first in line, to someone who did not validate it before.

Its outcome is applied like any validation (`validation.services.review`): a cart that
differs issues `receipt.corrected`, otherwise the receipt is confirmed; either way the
dispute is resolved with that outcome and the visit is `validated` again.
"""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from annotator.models import Annotation, TaskExclusion
from annotator.services.queues import queue_for, task_enqueue
from catalog.models import Product
from infra.errors import Conflict, LoupeError
from infra.text import storable
from validation.models import Dispute, Visit
from validation.visit_kind import VISIT_VALIDATION, visit_task_payload

DISPUTE_PRIORITY = 100
MAX_REASON = 500


def dispute_check(*, visit: Visit, reason: object, sku: object = None) -> tuple[str, str]:
    """The reason (1 to 500 characters) and the sku (optional, of the visit's store),
    cleaned; LoupeError (400) naming the field otherwise, before any query (text the database
    cannot take, a NUL or a lone surrogate, is refused as `infra.text.storable` says)."""
    if not isinstance(reason, str) or not reason.strip():
        raise LoupeError("Say what is wrong with the receipt.", code="required", field="reason")
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise LoupeError(f"At most {MAX_REASON} characters.", code="max_length", field="reason")
    storable(reason, "reason")
    if sku is None or sku == "":
        return reason, ""
    if isinstance(sku, str):
        storable(sku, "sku")
    if not isinstance(sku, str) or not Product.objects.filter(store_id=visit.store_id, sku=sku).exists():
        raise LoupeError(f"No product {sku!r} in this store.", code="unknown_sku", field="sku")
    return reason, sku


def _open_conflict() -> Conflict:
    return Conflict("This visit already has an open dispute.", code="dispute_open")


@transaction.atomic
def dispute_open(*, visit: Visit, reason: str, sku: str | None = None, opened_by) -> Dispute:
    """Open a dispute on a visit's receipt and queue it for review.

    Locks the visit row (disputes and validations of one visit take turns). Writes the
    dispute, a `visit_validation` task (purpose `dispute`, priority 100, overlap 1, due in
    the store's SLA from now) and a `previous_validator` exclusion for everyone who
    annotated an earlier validation task of the visit, so it is never offered to them; the
    visit becomes `disputed`. 409 `dispute_open` while another dispute is open (the partial
    unique constraint is the backstop), 409 `no_receipt` for a visit still awaiting its
    first receipt; 400 for a bad reason or sku.
    """
    reason, sku = dispute_check(visit=visit, reason=reason, sku=sku)
    visit = Visit.objects.select_for_update().select_related("store").get(pk=visit.pk)
    if Dispute.objects.filter(visit=visit, resolved_at__isnull=True).exists():
        raise _open_conflict()
    if not visit.receipts.exists():
        raise Conflict("This visit has no receipt yet: it is still being reviewed.", code="no_receipt")

    now = timezone.now()
    due_at = now + dt.timedelta(minutes=visit.store.sla_minutes)
    events = list(visit.events.select_related("product", "camera", "snippet").order_by("seq"))
    dispute = Dispute(visit=visit, reason=reason, sku=sku, opened_by=opened_by, opened_at=now)
    payload = visit_task_payload(visit, events=events) | {
        "due_at": due_at.isoformat(),
        "dispute": {"id": str(dispute.id), "reason": reason, "sku": sku or None},
        # What the shopper was billed, for the associate to compare against.
        "billed_cart": visit.final_cart or [],
    }
    task = task_enqueue(
        queue=queue_for(store=visit.store, kind=VISIT_VALIDATION),
        subject_id=visit.id,
        due_at=due_at,
        payload=payload,
        priority=DISPUTE_PRIORITY,
        purpose="dispute",
        overlap=1,
        snippets=[event.snippet for event in events if event.snippet_id],
    )
    previous = (
        Annotation.objects.filter(task__kind=VISIT_VALIDATION, task__subject_id=visit.id)
        .values_list("associate_id", flat=True)
        .distinct()
    )
    TaskExclusion.objects.bulk_create(
        TaskExclusion(
            task=task,
            user_id=user_id,
            cause=TaskExclusion.Cause.PREVIOUS_VALIDATOR,
            reason=f"validated this visit before (dispute {dispute.id})",
        )
        for user_id in set(previous)
    )
    dispute.task = task
    try:
        with transaction.atomic():
            dispute.save(force_insert=True)
    except IntegrityError:
        raise _open_conflict() from None
    visit.status = Visit.Status.DISPUTED
    visit.save(update_fields=["status"])
    return dispute


def dispute_data(dispute: Dispute) -> dict:
    """A dispute as the API shows it."""
    return {
        "id": str(dispute.id),
        "visit": str(dispute.visit_id),
        "status": dispute.status,
        "reason": dispute.reason,
        "sku": dispute.sku or None,
        "task_id": str(dispute.task_id) if dispute.task_id else None,
        "opened_at": dispute.opened_at.isoformat(),
        "outcome": dispute.outcome or None,
        "resolved_at": dispute.resolved_at.isoformat() if dispute.resolved_at else None,
        "receipt": str(dispute.receipt_id) if dispute.receipt_id else None,
    }
