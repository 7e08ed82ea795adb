"""Builders for the gold tests: gold visits made through the service, served and answered
through the queue engine."""

import uuid

from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from catalog.models import Store
from tests.validation.bodies import event_body, visit_body
from validation.services.gold import GoldVisit, gold_visit_create

OPENED = {"opened": True, "watched_ms": 2000, "frames_viewed": 10}


def gold_events() -> list[dict]:
    """Two low-confidence events: SKU-0001 × 1 and SKU-0002 × 2 (the model says the same)."""
    return [
        event_body(1, confidence=0.5),
        event_body(2, sku="SKU-0002", quantity=2, confidence=0.6),
    ]


def truth_of(events: list[dict], missed: list[dict] | None = None, **by_external: dict) -> dict:
    """Every event confirmed unless `by_external` says otherwise (`e1={"verdict": "reject"}`)."""
    return {
        "events": [
            {"external_id": e["external_id"], **by_external.get(e["external_id"], {"verdict": "confirm"})}
            for e in events
        ],
        "missed": missed or [],
    }


def make_gold(store: Store, by, *, missed: list[dict] | None = None, share: float = 0.5, **truth) -> GoldVisit:
    """A gold visit of `store` (the two `gold_events`), with the store's gold_share set."""
    Store.objects.filter(pk=store.pk).update(gold_share=share)
    store.refresh_from_db()
    events = gold_events()
    body = visit_body(store.code, events=events) | {"truth": truth_of(events, missed, **truth)}
    return gold_visit_create(store=store, payload=body, by=by)


def answer(visit, *overrides: dict | None, opened: bool = True) -> list[dict]:
    """Verdicts for the visit's events (confirm unless overridden by position), opened."""
    items = []
    for n, event in enumerate(visit.events.order_by("seq")):
        override = overrides[n] if n < len(overrides) and overrides[n] else {"verdict": "confirm"}
        items.append({"event": str(event.id), **({"evidence": dict(OPENED)} if opened else {}), **override})
    return items


def serve_and_answer(user, gold: GoldVisit, events: list[dict], missed: list[dict] | None = None):
    lease = task_claim(associate=user, queue_id=gold.task.queue_id)
    assert lease is not None and lease.task.pk == gold.task.pk, "the gold task was not served"
    return task_submit(
        associate=user,
        task_id=gold.task.pk,
        result={"events": events, "missed": missed or []},
        submission_id=uuid.uuid4(),
    )
