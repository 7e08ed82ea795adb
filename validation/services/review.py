"""Applying a submitted visit validation: the final cart, the corrections that explain it, the
receipt (and through it the billing webhook), the visit's new state and the training labels.

`review_apply` runs inside the submit transaction (the `visit_validation` kind's on_submit),
so the annotation and everything it causes commit together or not at all.

What a validation does depends on why its task exists (`Task.purpose`):

- **review** (a pending visit): the visit's first receipt (`receipt.issued`), the visit
  `validated`.
- **audit** (a random sample of auto-accepted visits): `audit_outcome` is `corrected` when the
  human cart differs from the model's (the cart auto-acceptance billed), else `confirmed`;
  that is the measured error rate of auto-acceptance. A correction issues `receipt.corrected`
  superseding the receipt and marks the visit `validated`; a confirmation changes nothing
  else. An audit finishing after a human has since decided the visit (a dispute) only
  records its outcome: the receipt is no longer the model's.
- **unsure** (any verdict `unsure`, whatever the purpose): nothing of the above; the task
  goes to another associate or to the escalation queue (`validation.services.unsure`).
- **gold** (a `GoldTask`, whatever the purpose says): scored against its truth
  (`validation.services.gold`), and nothing else: no cart, receipt, webhook or label; an
  `unsure` is scored as not right and goes nowhere.
- **dispute**: the visit goes back to `validated`; a cart that differs from the current
  receipt issues `receipt.corrected`, otherwise the receipt stands; the dispute is resolved
  with that outcome.

**Overlap.** With overlap > 1 on a validation queue, the first submitted annotation of a task
decides the cart and the receipt (the shopper's receipt should not wait for a second
opinion); every annotation, the later ones too, becomes training labels, so agreement can
be measured from the labels.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from annotator.models import Annotation, Label, Task
from annotator.services.gold import gold_for
from annotator.services.labels import LabelIn, label_record
from catalog.models import Product
from validation.carts import SIGN, Cart
from validation.models import CartCorrection, Dispute, Event, Receipt, Visit
from validation.services.gold import gold_visit_answer
from validation.services.receipts import receipt_issue
from validation.services.unsure import has_unsure, visit_unsure_hand_back
from validation.visit_result import is_checked


@dataclass(frozen=True)
class Change:
    """One change a verdict makes to the model's cart, and what justifies it."""

    sku: str
    delta: int
    reason: str
    event_id: uuid.UUID | None = None
    snippet_id: uuid.UUID | str | None = None


@dataclass(frozen=True)
class ReviewOutcome:
    # False for a later annotation of an overlapping task: recorded as labels only.
    applied: bool
    # `validated` (review), `confirmed` or `corrected` (audit, dispute), `recorded`.
    outcome: str
    final_cart: list[dict] = field(default_factory=list)
    corrections: list[CartCorrection] = field(default_factory=list)
    receipt: Receipt | None = None
    dispute: Dispute | None = None
    labels: list[Label] = field(default_factory=list)


def _contribution(sku: str, action: str, quantity: int) -> tuple[str, int]:
    return sku, SIGN[action] * quantity


def event_changes(events: Iterable[Event], verdicts: Mapping[str, dict], missed: Iterable[dict]) -> list[Change]:
    """Per verdict, how it moves the model's cart: a rejected take removes it, a corrected sku
    moves it from one sku to another, a missed take adds it."""
    changes = []
    for event in events:
        verdict = verdicts[str(event.id)]
        old_sku, old = _contribution(event.sku, event.action, event.quantity)
        if verdict["verdict"] == "reject":
            changes.append(Change(old_sku, -old, "rejected", event.id, event.snippet_id))
        elif verdict["verdict"] == "correct":
            new_sku, new = _contribution(verdict["sku"], verdict["action"], verdict["quantity"])
            if new_sku != old_sku:
                reason = "corrected_sku"
            elif verdict["action"] != event.action:
                reason = "corrected_action"
            else:
                reason = "corrected_quantity"
            if new_sku == old_sku:
                changes.append(Change(old_sku, new - old, reason, event.id, event.snippet_id))
            else:
                changes.append(Change(old_sku, -old, reason, event.id, event.snippet_id))
                changes.append(Change(new_sku, new, reason, event.id, event.snippet_id))
    for item in missed:
        sku, amount = _contribution(item["sku"], item["action"], item["quantity"])
        changes.append(Change(sku, amount, "missed", None, item.get("snippet")))
    return [change for change in changes if change.delta]


def _corrections_for(
    *,
    base: Cart,
    predicted: Cart,
    final: Cart,
    changes: list[Change],
    purpose: str,
) -> list[Change]:
    """The corrections taking the cart from `base` (the current receipt's, or the model's) to
    `final`; their deltas per sku always add up to the difference.

    From the model's cart, these are the verdicts' own changes (one per change, each with its
    event). When that does not add up (an earlier human decision already moved the base, or a
    put-back of something never taken was clipped away), one correction per sku changed,
    justified by a verdict that moved that sku the same way if there is one.
    """
    difference = base.diff(final)
    per_sku: dict[str, int] = {}
    for change in changes:
        per_sku[change.sku] = per_sku.get(change.sku, 0) + change.delta
    if base == predicted and {sku: d for sku, d in per_sku.items() if d} == difference:
        return changes
    fallback = "disputed" if purpose == "dispute" else "revalidated"
    corrections = []
    for sku, delta in difference.items():
        source = next((c for c in changes if c.sku == sku and (c.delta > 0) == (delta > 0)), None)
        if source is None:
            corrections.append(Change(sku, delta, fallback))
        else:
            corrections.append(Change(sku, delta, source.reason, source.event_id, source.snippet_id))
    return corrections


def _labels(visit: Visit, events: list[Event], result: dict, *, source: str) -> list[LabelIn]:
    verdicts = {item["event"]: item for item in result["events"]}
    labels = []
    for event in events:
        verdict = verdicts[str(event.id)]
        predicted = {
            "action": event.action,
            "sku": event.sku,
            "quantity": event.quantity,
            "confidence": event.confidence,
            "candidates": event.candidates,
        }
        if verdict["verdict"] == "confirm":
            human = {"action": event.action, "sku": event.sku, "quantity": event.quantity}
        elif verdict["verdict"] == "correct":
            human = {"action": verdict["action"], "sku": verdict["sku"], "quantity": verdict["quantity"]}
        else:
            human = None  # it did not happen
        labels.append(
            LabelIn(
                kind=Label.Kind.VISIT_EVENT,
                verdict=verdict["verdict"],
                predicted=predicted,
                human=human,
                model_version=visit.model_version,
                snippet_id=event.snippet_id,
                event_id=event.id,
                provenance={
                    "visit": str(visit.id),
                    "event_external_id": event.external_id,
                    "occurred_at": event.occurred_at.isoformat(),
                },
                checked=is_checked(verdict["verdict"], verdict.get("evidence") or {}),
                source=source,
                evidence=verdict.get("evidence") or {},
            )
        )
    for item in result.get("missed", []):
        labels.append(
            LabelIn(
                kind=Label.Kind.VISIT_EVENT,
                verdict="missed",
                predicted=None,
                human={"action": item["action"], "sku": item["sku"], "quantity": item["quantity"]},
                model_version=visit.model_version,
                snippet_id=item.get("snippet"),
                provenance={"visit": str(visit.id)},
                checked=True,  # the person saw it happen
                source=source,
            )
        )
    return labels


def _current_receipt(visit: Visit) -> Receipt | None:
    return visit.receipts.filter(superseded_by__isnull=True).order_by("-issued_at").first()


@transaction.atomic
def review_apply(*, task: Task, annotation: Annotation) -> ReviewOutcome:
    """Apply a submitted `visit_validation` annotation to its visit (see the module docstring).

    Call inside the submit transaction, which already holds the task row lock; this locks the
    visit row next (the order every writer of a visit's receipts follows: task, then visit),
    so two validations of one visit, or a validation and a dispute, take turns and a receipt
    is superseded at most once. Writes the labels, the corrections, at most one receipt
    (with its webhook event, through `receipt_issue`) and the visit's new state.
    """
    gold = gold_for(task)
    if gold is not None:  # scored against its truth; nothing else (no cart, receipt, label)
        gold_visit_answer(task=task, gold=gold, annotation=annotation)
        return ReviewOutcome(applied=False, outcome="gold")
    visit = Visit.objects.select_for_update().select_related("store").get(pk=task.subject_id)
    result = annotation.result
    if has_unsure(result):
        return ReviewOutcome(applied=False, outcome=visit_unsure_hand_back(task=task, annotation=annotation))
    events = list(visit.events.order_by("seq"))
    source = Label.Source.SUPERVISOR if task.queue.supervisors_only else Label.Source.ASSOCIATE
    labels = label_record(task=task, annotation=annotation, items=_labels(visit, events, result, source=source))
    if task.annotations_done > 1:
        return ReviewOutcome(applied=False, outcome="recorded", labels=labels)

    final = Cart.from_verdicts(events, result["events"], result.get("missed", []))
    predicted = Cart.from_lines(visit.predicted_cart)
    current = _current_receipt(visit)
    base = Cart.from_lines(visit.final_cart) if current is not None else predicted
    now = timezone.now()
    changed_fields = []

    if task.purpose == "audit":
        visit.audit_outcome = Visit.AuditOutcome.CORRECTED if final != predicted else Visit.AuditOutcome.CONFIRMED
        visit.audit_completed_at = now
        changed_fields += ["audit_outcome", "audit_completed_at"]
        if visit.status != Visit.Status.AUTO_ACCEPTED or final == base:
            visit.save(update_fields=changed_fields)
            return ReviewOutcome(applied=True, outcome=visit.audit_outcome, final_cart=visit.final_cart, labels=labels)

    dispute = None
    if task.purpose == "dispute":
        dispute = Dispute.objects.filter(task=task, resolved_at__isnull=True).first()
    products = {p.sku: p for p in Product.objects.filter(store_id=visit.store_id, sku__in=list(final.quantities))}
    final_cart = [line.as_dict() for line in final.lines(products.__getitem__)]
    receipt = None
    if current is None or final != base:
        receipt = receipt_issue(visit=visit, lines=final_cart, supersedes=current, products=products)
    corrections = []
    if final != base:
        changes = _corrections_for(
            base=base,
            predicted=predicted,
            final=final,
            changes=event_changes(events, {v["event"]: v for v in result["events"]}, result.get("missed", [])),
            purpose=task.purpose,
        )
        corrections = CartCorrection.objects.bulk_create(
            CartCorrection(
                visit=visit,
                sku=change.sku,
                delta=change.delta,
                reason=change.reason,
                event_id=change.event_id,
                snippet_id=change.snippet_id,
                annotation=annotation,
                created_by_id=annotation.associate_id,
                receipt=receipt,
            )
            for change in changes
        )

    visit.status = Visit.Status.VALIDATED
    visit.validated_at = now
    visit.final_cart = final_cart
    visit.save(update_fields=[*changed_fields, "status", "validated_at", "final_cart"])
    outcome = "validated" if current is None else ("corrected" if final != base else "confirmed")
    if dispute is not None:
        dispute.outcome = Dispute.Outcome.CORRECTED if receipt is not None else Dispute.Outcome.CONFIRMED
        dispute.resolved_at = now
        dispute.receipt = receipt
        dispute.save(update_fields=["outcome", "resolved_at", "receipt"])
    return ReviewOutcome(
        applied=True,
        outcome=outcome,
        final_cart=final_cart,
        corrections=corrections,
        receipt=receipt,
        dispute=dispute,
        labels=labels,
    )
