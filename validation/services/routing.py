"""Confidence routing: a visit the model is sure about gets its receipt at once, the rest
go to the store's validation queue with a deadline.

The rule (store policy on `catalog.Store`): a visit is *sure* when every event's
confidence is at least `auto_accept_threshold` (equal counts as sure). A visit with no
events is sure too: the model saw nothing taken, so the receipt is empty (total 0); the
random audit still samples such visits, which is how missed takes get found. A random
`audit_rate` share of sure visits also gets a low-priority audit task.
"""

import datetime as dt
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from annotator.models import Queue, Task
from annotator.services.queues import queue_for, task_enqueue
from catalog.models import Product, Store
from validation.models import Event, Receipt, Visit
from validation.services.receipts import receipt_issue
from validation.visit_kind import VISIT_VALIDATION, visit_task_payload

AUDIT_PRIORITY = -10
REVIEW_PRIORITY = 0

# The audit lottery. Module-level so tests (and a reproducible demo) can seed it:
# `routing.audit_rng.seed(7)`; callers may also pass their own `rng`.
audit_rng = random.Random()


@dataclass(frozen=True)
class RouteDecision:
    status: str
    decision: str
    threshold: float
    min_confidence: float | None
    due_at: dt.datetime | None
    audited: bool

    def visit_fields(self) -> dict:
        return {
            "status": self.status,
            "decision": self.decision,
            "threshold": self.threshold,
            "min_confidence": self.min_confidence,
            "due_at": self.due_at,
            "audited": self.audited,
        }


@dataclass(frozen=True)
class Routed:
    task: Task | None
    receipt: Receipt | None


def route_decide(
    *, store: Store, exited_at: dt.datetime, confidences: Iterable[float], rng: random.Random | None = None
) -> RouteDecision:
    """Decide, without touching the database, how a visit is routed under the store's policy."""
    threshold = store.auto_accept_threshold
    min_confidence = min(confidences, default=None)
    if min_confidence is None or min_confidence >= threshold:
        audited = (rng or audit_rng).random() < store.audit_rate
        return RouteDecision(
            Visit.Status.AUTO_ACCEPTED, Visit.Decision.AUTO_ACCEPT, threshold, min_confidence, None, audited
        )
    due_at = exited_at + dt.timedelta(minutes=store.sla_minutes)
    return RouteDecision(Visit.Status.PENDING_REVIEW, Visit.Decision.REVIEW, threshold, min_confidence, due_at, False)


def visit_route(
    *,
    visit: Visit,
    events: Sequence[Event],
    products: Mapping[str, Product] | None = None,
    queue: Queue | None = None,
) -> Routed:
    """Carry out the decision already recorded on a freshly stored `visit` (see `route_decide`).

    Must run inside the ingest transaction: a visit is never stored without its task or
    receipt. Pending visits get one review task (priority 0, due at `visit.due_at`) holding
    the events' snippets; auto-accepted ones get their receipt (the predicted cart) and,
    when audited, a priority -10 audit task due `sla_minutes` after exit. `events` must carry
    their product, camera and snippet objects (no queries are made for them); `products` and
    `queue` let a bulk caller reuse what it already loaded.
    """
    task = receipt = None
    if visit.status == Visit.Status.AUTO_ACCEPTED:
        receipt = receipt_issue(visit=visit, lines=visit.final_cart or [], products=products)
        if visit.audited:
            task = _enqueue(visit, events, queue, purpose="audit", priority=AUDIT_PRIORITY)
    else:
        task = _enqueue(visit, events, queue, purpose="review", priority=REVIEW_PRIORITY)
    return Routed(task=task, receipt=receipt)


def _enqueue(visit: Visit, events: Sequence[Event], queue: Queue | None, *, purpose: str, priority: int) -> Task:
    due_at = visit.due_at or visit.exited_at + dt.timedelta(minutes=visit.store.sla_minutes)
    snippets = {event.snippet_id: event.snippet for event in events if event.snippet_id}
    return task_enqueue(
        queue=queue or queue_for(store=visit.store, kind=VISIT_VALIDATION),
        subject_id=visit.id,
        due_at=due_at,
        payload=visit_task_payload(visit, events=events),
        priority=priority,
        purpose=purpose,
        snippets=snippets.values(),
    )
