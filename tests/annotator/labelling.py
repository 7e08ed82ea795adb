"""Labels for the dataset tests, recorded the way submits record them (`label_record`),
and real snippets (synthetic clips through `snippet_ingest` and the redaction worker)."""

import copy
import dataclasses
import datetime as dt
import functools
import io
import uuid

from django.utils import timezone

from annotator.models import Annotation, Label, Queue, Slot, Snippet
from annotator.services.labels import LabelIn, label_record
from annotator.services.queues import task_enqueue
from annotator.synth import Clip, make_clip
from catalog.models import Camera, Store
from tests.annotator.redacting import ingest_redacted

SHOPPER = "anon-shopper-token-7f3a9c"


@functools.cache
def _encoded(**clip_args) -> Clip:
    return make_clip(**clip_args)


def clip_of(**clip_args) -> Clip:
    """`make_clip`, encoded once per process for the same arguments (a copy, boxes and all).
    The same bytes each time: VP9 encodes differ from run to run, and a reused redaction
    (`ingest_redacted(reuse_redaction=True)`) is looked up by the upload's bytes."""
    clip = _encoded(**clip_args)
    return dataclasses.replace(clip, boxes=copy.deepcopy(clip.boxes))


def ingest_clip(
    store: Store, *, external_id: str, scene: str = "take", seed: int = 0, reuse_redaction: bool = False, **clip_args
) -> tuple:
    """(snippet, clip) for a synthetic clip stored through the intake service
    (`reuse_redaction`: see `ingest_redacted`)."""
    clip = clip_of(scene=scene, seed=seed, **clip_args)
    camera = Camera.objects.filter(store=store).order_by("code").first()
    result = ingest_redacted(
        store=store,
        camera=camera,
        external_id=external_id,
        started_at=timezone.now() - dt.timedelta(minutes=5),
        upload=io.BytesIO(clip.data),
        reuse_redaction=reuse_redaction,
    )
    return result.snippet, clip


def record(
    *,
    store: Store,
    associate,
    kind: str,
    verdict: str,
    predicted=None,
    human=None,
    snippet: Snippet | None = None,
    event_id=None,
    provenance: dict | None = None,
    model_version: str = "model-7",
    task=None,
    subject_id=None,
) -> Label:
    """One submitted annotation (of a new task unless `task` is given) and its label."""
    if task is None:
        queue, _ = Queue.objects.get_or_create(store=store, kind=kind, name=f"{kind} queue")
        task = task_enqueue(
            queue=queue,
            subject_id=subject_id or (snippet.pk if snippet else uuid.uuid4()),
            due_at=timezone.now() + dt.timedelta(minutes=10),
            payload={},
        )
    slot = Slot.objects.filter(task=task, state=Slot.State.OPEN).order_by("index").first()
    slot.state, slot.holder = Slot.State.DONE, associate
    slot.save(update_fields=["state", "holder"])
    done = Slot.objects.filter(task=task, state=Slot.State.DONE).count()
    task.annotations_done = done
    task.status = "done" if done >= task.overlap else "open"
    task.save(update_fields=["annotations_done", "status"])
    annotation = Annotation.objects.create(
        task=task,
        slot=slot,
        store_id=task.store_id,
        associate=associate,
        kind=kind,
        result=human or {},
        submission_id=uuid.uuid4(),
    )
    item = LabelIn(
        kind=kind,
        verdict=verdict,
        predicted=predicted,
        human=human,
        model_version=model_version,
        snippet_id=snippet.pk if snippet else None,
        event_id=event_id,
        provenance=provenance or {},
    )
    return label_record(task=task, annotation=annotation, items=[item])[0]


def event_label(
    *,
    store: Store,
    associate,
    verdict: str = "confirm",
    sku: str = "SKU-0001",
    action: str = "take",
    quantity: int = 1,
    confidence: float = 0.62,
    visit_id=None,
    final_sku: str | None = None,
    model_version: str = "model-7",
    task=None,
) -> Label:
    """A visit-event label shaped as validation's review writes it (shopper token planted in
    its provenance, to prove exports never carry it)."""
    visit_id = visit_id or uuid.uuid4()
    predicted = {"action": action, "sku": sku, "quantity": quantity, "confidence": confidence, "candidates": []}
    if verdict == "missed":
        predicted = None
    if verdict == "reject":
        human = None
    elif verdict == "confirm":
        human = {"action": action, "sku": sku, "quantity": quantity}
    else:
        human = {"action": action, "sku": final_sku or sku, "quantity": quantity}
    return record(
        store=store,
        associate=associate,
        kind=Label.Kind.VISIT_EVENT,
        verdict=verdict,
        predicted=predicted,
        human=human,
        event_id=None if verdict == "missed" else uuid.uuid4(),
        provenance={
            "visit": str(visit_id),
            "occurred_at": "2026-05-01T10:00:00+00:00",
            "shopper": SHOPPER,
            "event_external_id": "e1",
        },
        model_version=model_version,
        task=task,
        subject_id=visit_id,
    )


def snippet_label(*, store: Store, associate, snippet: Snippet, boxes: list[dict], sku="SKU-0001", action="take"):
    """A snippet-annotation label whose result is what the workbench submits."""
    return record(
        store=store,
        associate=associate,
        kind=Label.Kind.SNIPPET,
        verdict="annotated",
        predicted=snippet.predictions,
        human={"action": action, "sku": sku, "boxes": boxes},
        snippet=snippet,
    )
