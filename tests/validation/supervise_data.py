"""Hand-built visits, receipts and judged events for the supervisor's figures."""

import datetime as dt
import hashlib
import uuid

from django.utils import timezone

from annotator.models import Annotation, Label, Queue, Slot, Task
from annotator.services.queues import task_enqueue
from catalog.models import Product
from validation.models import Event, Receipt, Visit
from validation.services.receipts import receipt_turnaround


def now_s() -> dt.datetime:
    return timezone.now().replace(microsecond=0)


def visit(store, *, exited_at, decision="review", model_version="m1", min_confidence=0.5, audit_outcome="", **extra):
    auto = decision == Visit.Decision.AUTO_ACCEPT
    fields = {
        "store": store,
        "external_id": uuid.uuid4().hex,
        "shopper": "anon",
        "entered_at": exited_at - dt.timedelta(minutes=5),
        "exited_at": exited_at,
        "model_version": model_version,
        "status": Visit.Status.AUTO_ACCEPTED if auto else Visit.Status.VALIDATED,
        "decision": decision,
        "threshold": 0.9,
        "min_confidence": min_confidence,
        "due_at": None if auto else exited_at + dt.timedelta(minutes=store.sla_minutes),
        "body_sha256": hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        "audit_outcome": audit_outcome,
        "audited": bool(audit_outcome),
    }
    fields.update(extra)
    return Visit.objects.create(**fields)


def served(store, *, turnaround_s: float, issued_ago_s: float, decision="review", kind=Receipt.Kind.ISSUED, **extra):
    """A visit whose receipt was issued `issued_ago_s` ago, `turnaround_s` after the exit."""
    issued_at = now_s() - dt.timedelta(seconds=issued_ago_s)
    found = visit(store, exited_at=issued_at - dt.timedelta(seconds=turnaround_s), decision=decision, **extra)
    # As `receipt_issue` writes it: the turnaround fields on first receipts only.
    turnaround = receipt_turnaround(visit=found, issued_at=issued_at) if kind == Receipt.Kind.ISSUED else {}
    Receipt.objects.create(visit=found, kind=kind, total_minor=0, currency="EUR", issued_at=issued_at, **turnaround)
    return found


def judged_events(store, associate, judgments: list[tuple[float, bool]], *, model_version="m1", purpose="review"):
    """One old visit holding an event per (confidence, right) and a Label per event."""
    queue, _ = Queue.objects.get_or_create(store=store, kind="visit_validation", name="Visit validation")
    product = Product.objects.filter(store=store).first()
    old = visit(store, exited_at=timezone.now() - dt.timedelta(days=90), model_version=model_version)
    events = Event.objects.bulk_create(
        Event(
            visit=old,
            seq=n,
            external_id=f"e{n}",
            action="take",
            product=product,
            sku=product.sku,
            confidence=confidence,
            occurred_at=old.exited_at,
        )
        for n, (confidence, _) in enumerate(judgments)
    )
    task = task_enqueue(queue=queue, subject_id=old.pk, due_at=timezone.now(), payload={}, purpose=purpose)
    slot = task.slots.get()
    Slot.objects.filter(pk=slot.pk).update(holder=associate, state=Slot.State.DONE)
    Task.objects.filter(pk=task.pk).update(status=Task.Status.DONE, annotations_done=1)
    annotation = Annotation.objects.create(
        task=task,
        slot=slot,
        store_id=task.store_id,
        associate=associate,
        kind="visit_validation",
        result={},
        submission_id=uuid.uuid4(),
    )
    Label.objects.bulk_create(
        Label(
            store=store,
            kind=Label.Kind.VISIT_EVENT,
            task=task,
            annotation=annotation,
            associate=associate,
            created_at=timezone.now(),
            model_version=model_version,
            verdict="confirm" if right else "correct",
            event_id=event.pk,
        )
        for event, (_, right) in zip(events, judgments, strict=True)
    )
    return events
