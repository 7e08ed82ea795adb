"""Confidence routing: a visit the model is sure about gets its receipt at once, the rest
go to the store's validation queue with a deadline.

The rule (store policy on `catalog.Store`, written once in `validation.confidence`): a
visit is *sure* when every event's confidence is at least `auto_accept_threshold` (equal
counts as sure). A visit with no events is sure too: the model saw nothing taken, so the
receipt is empty (total 0); the random audit still samples such visits, which is how missed
takes get found. A random
`audit_rate` share of sure visits also gets a low-priority audit task.
"""

import datetime as dt
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from annotator.models import Queue, Task
from annotator.services.queues import TaskSpec, queue_for, tasks_enqueue_many
from catalog.models import Product, Store
from validation.confidence import visit_is_sure
from validation.models import Event, Receipt, Visit
from validation.services.receipts import ReceiptDraft, receipts_issue
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
    if visit_is_sure(min_confidence, threshold):
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
    `queue` let a caller reuse what it already loaded.
    """
    if products is None:
        skus = {line["sku"] for line in visit.final_cart or []}
        products = {p.sku: p for p in Product.objects.filter(store_id=visit.store_id, sku__in=skus)} if skus else {}
    if queue is None and (visit.status != Visit.Status.AUTO_ACCEPTED or visit.audited):
        queue = queue_for(store=visit.store, kind=VISIT_VALIDATION)
    return visits_route_many(routes=[(visit, events, products)], queues={visit.store_id: queue})[0]


def visits_route_many(
    *,
    routes: Sequence[tuple[Visit, Sequence[Event], Mapping[str, Product]]],
    queues: Mapping[int, Queue | None],
) -> list[Routed]:
    """`visit_route` for many freshly stored visits (`(visit, events, products)`, products by
    sku of the visit's store) in a fixed number of statements: the receipts with their
    webhook outbox, and the tasks with their slots, each written in bulk. `queues` maps a
    store id to its validation queue (needed for every store with a pending or audited visit).

    Joins the caller's (ingest) transaction without savepoints: if this raises, the caller
    must roll back.
    """
    drafts, specs = [], []
    for visit, events, products in routes:
        queue = queues.get(visit.store_id)
        if visit.status == Visit.Status.AUTO_ACCEPTED:
            drafts.append(ReceiptDraft(visit=visit, lines=visit.final_cart or [], products=products))
            if visit.audited:
                specs.append(_task_spec(visit, events, queue, purpose="audit", priority=AUDIT_PRIORITY))
        else:
            specs.append(_task_spec(visit, events, queue, purpose="review", priority=REVIEW_PRIORITY))
    receipts = {receipt.visit_id: receipt for receipt in receipts_issue(drafts=drafts)}
    tasks = {task.subject_id: task for task in tasks_enqueue_many(specs=specs)}
    return [Routed(task=tasks.get(visit.id), receipt=receipts.get(visit.id)) for visit, _, _ in routes]


def _task_spec(visit: Visit, events: Sequence[Event], queue: Queue, *, purpose: str, priority: int) -> TaskSpec:
    due_at = visit.due_at or visit.exited_at + dt.timedelta(minutes=visit.store.sla_minutes)
    return TaskSpec(
        queue=queue,
        subject_id=visit.id,
        due_at=due_at,
        payload=visit_task_payload(visit, events=events),
        priority=priority,
        purpose=purpose,
        snippets=[event.snippet for event in events if event.snippet_id],
    )
