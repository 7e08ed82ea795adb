"""Visit bodies as the computer-vision pipeline sends them, for the ingestion tests."""

import copy
import datetime as dt
import itertools

_counter = itertools.count(1)


def event_body(n: int = 1, **overrides) -> dict:
    body = {
        "external_id": f"e{n}",
        "action": "take",
        "sku": "SKU-0001",
        "quantity": 1,
        "confidence": 0.97,
        "occurred_at": "2026-11-24T10:03:11Z",
        "camera": "C01",
        "candidates": [{"sku": "SKU-0002", "score": 0.02}],
    }
    body.update(overrides)
    return body


def visit_body(store: str = "S001", *, events: list[dict] | None = None, **overrides) -> dict:
    body = {
        "external_id": f"v-{next(_counter):06d}",
        "store": store,
        "shopper": "anon-7f3a9c",
        "entered_at": "2026-11-24T10:01:02Z",
        "exited_at": "2026-11-24T10:09:40Z",
        "model_version": "jwo-2026.11.2",
        "events": events if events is not None else [event_body(1), event_body(2, sku="SKU-0002")],
    }
    body.update(overrides)
    return copy.deepcopy(body)


def recent_visit(store: str = "S001", *, confidences=(0.97, 0.97), **overrides) -> dict:
    """A visit that ended a minute ago, one event per confidence (SKU-0001, SKU-0002, ...), for
    servers that run with the production limits (VISIT_MAX_AGE_DAYS) instead of the suite's."""
    now = dt.datetime.now(dt.UTC)
    events = [
        event_body(
            n, sku=f"SKU-{n:04d}", confidence=confidence, occurred_at=(now - dt.timedelta(minutes=5)).isoformat()
        )
        for n, confidence in enumerate(confidences, start=1)
    ]
    times = {
        "entered_at": (now - dt.timedelta(minutes=9)).isoformat(),
        "exited_at": (now - dt.timedelta(minutes=1)).isoformat(),
    }
    return visit_body(store, events=events, **(times | overrides))
