"""Builders for the feedback-loop tests: visits routed the real way (ingest), validated the
real way (claim, then submit through the queue engine)."""

import datetime as dt
import random
import uuid

from annotator.models import Snippet, Task
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from catalog import roles
from tests.factories import CameraFactory, UserFactory
from tests.validation.bodies import event_body, visit_body
from validation.models import Visit
from validation.services import visit_ingest


def fixed_rng(value: float) -> random.Random:
    rng = random.Random()
    rng.random = lambda: value
    return rng


def associate(store, username: str):
    return UserFactory(username=username, role=roles.ASSOCIATE, stores=[store])


def make_snippet(store, external_id="snip-1", camera_code="C01") -> Snippet:
    """A snippet row of the store (no file behind it) for visit events to name."""
    return Snippet.objects.create(
        store=store,
        camera=CameraFactory(store=store, code=camera_code),
        external_id=external_id,
        started_at=dt.datetime(2026, 11, 24, 10, 3, tzinfo=dt.UTC),
        file="snippets/x.mp4",
        sha256="0" * 64,
        size_bytes=1,
        container="mp4",
        codec="h264",
        duration_s=4,
        fps=10,
        width=64,
        height=48,
        frame_count=40,
    )


def pending_visit(store, events: list[dict] | None = None) -> tuple[Visit, Task]:
    """A visit the model is unsure about, with its review task."""
    events = events or [event_body(1, confidence=0.5), event_body(2, sku="SKU-0002", confidence=0.6)]
    result = visit_ingest(store=store, payload=visit_body(store.code, events=events))
    return result.visit, result.task


def audited_visit(store, events: list[dict] | None = None) -> tuple[Visit, Task]:
    """An auto-accepted visit (receipt issued) drawn for an audit."""
    events = events or [event_body(1), event_body(2, sku="SKU-0002")]
    result = visit_ingest(store=store, payload=visit_body(store.code, events=events), rng=fixed_rng(0.0))
    assert result.visit.status == Visit.Status.AUTO_ACCEPTED and result.task is not None
    return result.visit, result.task


OPENED = {"opened": True, "watched_ms": 2000, "frames_viewed": 0}


def verdicts(visit: Visit, *overrides: dict | None, opened: bool = True) -> list[dict]:
    """`confirm` for every event of the visit, except where an override (by position) says
    otherwise: `{"verdict": "reject"}`, `{"verdict": "correct", "sku": ...}`. Each verdict
    carries evidence of the event being opened (a checked verdict) unless `opened` is False
    or the override says otherwise."""
    items = []
    for n, event in enumerate(visit.events.order_by("seq")):
        override = overrides[n] if n < len(overrides) and overrides[n] else {"verdict": "confirm"}
        evidence = {"evidence": dict(OPENED)} if opened else {}
        items.append({"event": str(event.id), **evidence, **override})
    return items


def validate(user, task: Task, events: list[dict], missed: list[dict] | None = None):
    """Claim `task` as `user` (it must be what they are offered) and submit the verdicts."""
    lease = task_claim(associate=user)
    assert lease is not None and lease.task.pk == task.pk, "the task was not offered to this associate"
    return task_submit(
        associate=user,
        task_id=task.pk,
        result={"events": events, "missed": missed or []},
        submission_id=uuid.uuid4(),
    )
