"""Video snippet intake: check an uploaded clip, hold it for redaction, optionally queue it
for annotation.

`snippet_ingest` is the one door for snippets (the API and the demo seeder use it). Order:
size (while spooling the upload to a private temporary file and hashing it), idempotency on
store + external_id, probe (`annotator.media`), predictions and redact regions, then the
upload into the holding place and the rows (the snippet `redacting`, its annotation task
waiting) in one transaction with the `redaction` task that will redact it on a worker
(`annotator.services.snippet_redaction`; a transactional outbox: no row without its task).
The upload request stays within SNIPPET_PROBE_TIMEOUT_S whatever the clip's length; nothing
is served, and nothing is claimable, until the redacted clip is stored.
"""

import datetime as dt
import hashlib
import math
import tempfile
import uuid
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from annotator import tasks
from annotator.media import VideoInfo, probe_video, video_too_large
from annotator.models import Snippet, Task
from annotator.redaction import redact_clean
from annotator.services.queues import queue_for, task_enqueue
from annotator.services.snippet_redaction import media_files_delete, snippet_hold
from annotator.snippet_kind import SNIPPET_ANNOTATION
from catalog.models import Camera, Product, Store
from infra.errors import Conflict, LoupeError
from infra.text import unstorable

PREDICTION_LABELS = ("hand", "product")
MAX_PREDICTIONS = 20_000
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class SnippetIngestResult:
    snippet: Snippet
    # False when the same store + external_id + bytes had been stored before (a replay).
    created: bool
    # The snippet's annotation task, if it has one (also on a replay).
    task: Task | None = None


def snippet_annotation_task(snippet: Snippet) -> Task | None:
    return Task.objects.filter(kind=SNIPPET_ANNOTATION, subject_id=snippet.pk).order_by("created_at").first()


def snippet_media_urls(snippet_id: uuid.UUID) -> dict[str, str]:
    return {
        "video_url": reverse("annotator:snippet_video", args=[snippet_id]),
        "poster_url": reverse("annotator:snippet_poster", args=[snippet_id]),
        "thumbnail_url": reverse("annotator:snippet_thumbnail", args=[snippet_id]),
    }


def snippet_ingest(
    *,
    store: Store,
    camera: Camera,
    external_id: str,
    started_at: dt.datetime,
    upload: IO[bytes] | File,
    annotate: bool = False,
    predictions: Any = None,
    redact: Any = None,
) -> SnippetIngestResult:
    """Take a snippet in whole or not at all; its redaction follows on the worker.

    Guarantees: at most one snippet per store + external_id (the unique constraint is the
    backstop for concurrent posts; the loser re-reads the winner's row); the same bytes
    again return the stored snippet (`created` False), different bytes raise 409
    `duplicate_external_id`; a rejected clip leaves no row and no file. Locks nothing
    beyond the rows it inserts. Raises LoupeError (`invalid_video` 400, `video_too_large`
    413, 400 with `field` for predictions and redact). The snippet is `redacting` (no media,
    its annotation task waiting) with the upload in the holding place, and a `snippet_redact`
    task is queued in the same transaction; `sha256` stays the upload's, for replays.
    """
    if camera.store_id != store.pk:
        raise LoupeError("The camera is not one of this store's.", code="unknown_camera", field="camera")
    with tempfile.NamedTemporaryFile(prefix="loupe-snippet-", suffix=".bin") as spool:
        sha256, size = _spool(upload, spool)
        existing = Snippet.objects.filter(store=store, external_id=external_id).first()
        if existing is not None:
            return _replay(existing, sha256)
        info = probe_video(spool.name)
        cleaned = predictions_clean(store=store, info=info, predictions=predictions)
        regions = redact_clean(redact=redact, info=info)
        snippet_id = uuid.uuid4()
        held = snippet_hold(snippet_id=snippet_id, container=info.container, path=Path(spool.name))
    try:
        with transaction.atomic():
            snippet = Snippet.objects.create(
                id=snippet_id,
                store=store,
                camera=camera,
                external_id=external_id,
                started_at=started_at,
                status=Snippet.Status.REDACTING,
                holding=held,
                sha256=sha256,
                size_bytes=size,
                container=info.container,
                codec=info.codec,
                duration_s=info.duration_s,
                fps=info.fps,
                width=info.width,
                height=info.height,
                frame_count=info.frame_count,
                predictions=cleaned,
                # The requested regions now; the faces found join them once redacted.
                redactions=[region.as_json() for region in regions],
            )
            task = _enqueue_annotation(snippet) if annotate else None
            tasks.snippet_redact.enqueue(str(snippet.pk))
    except IntegrityError:
        media_files_delete([held])
        # Another request stored the same store + external_id first.
        existing = Snippet.objects.filter(store=store, external_id=external_id).first()
        if existing is None:
            raise
        return _replay(existing, sha256)
    except BaseException:
        media_files_delete([held])
        raise
    return SnippetIngestResult(snippet=snippet, created=True, task=task)


def _spool(upload, spool) -> tuple[str, int]:
    """Copy the upload to `spool`, hashing it; 413 as soon as it passes the limit."""
    limit = settings.SNIPPET_MAX_BYTES
    too_large = video_too_large(f"The file is larger than {limit} bytes.")
    declared = getattr(upload, "size", None)
    if declared is not None and declared > limit:
        raise too_large
    digest, size = hashlib.sha256(), 0
    if hasattr(upload, "seek"):
        upload.seek(0)
    chunks = upload.chunks(_CHUNK) if hasattr(upload, "chunks") else iter(lambda: upload.read(_CHUNK), b"")
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large
        digest.update(chunk)
        spool.write(chunk)
    spool.flush()
    return digest.hexdigest(), size


def _replay(existing: Snippet, sha256: str) -> SnippetIngestResult:
    if existing.sha256 != sha256:
        raise Conflict(
            f"Snippet {existing.external_id!r} was already stored with different bytes.",
            code="duplicate_external_id",
            field="external_id",
        )
    return SnippetIngestResult(snippet=existing, created=False, task=snippet_annotation_task(existing))


def _enqueue_annotation(snippet: Snippet) -> Task:
    store = snippet.store
    payload = {
        "snippet": str(snippet.pk),
        "store": store.code,
        "width": snippet.width,
        "height": snippet.height,
        "fps": snippet.fps,
        "frame_count": snippet.frame_count,
        "duration_s": snippet.duration_s,
        "predictions": snippet.predictions,
        **snippet_media_urls(snippet.pk),
    }
    return task_enqueue(
        queue=queue_for(store=store, kind=SNIPPET_ANNOTATION),
        subject_id=snippet.pk,
        due_at=timezone.now() + dt.timedelta(minutes=store.sla_minutes),
        payload=payload,
        purpose="annotate",
        snippets=[snippet],
        # Claimable once the redacted clip is stored (snippet_redaction.snippet_redact).
        waiting=snippet.status == Snippet.Status.REDACTING,
    )


def _number(value: Any) -> bool:
    """A finite JSON number (NaN passes every comparison, and JSON cannot store it)."""
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def predictions_clean(*, store: Store, info: VideoInfo, predictions: Any) -> list[dict]:
    """Check the model's predictions against the clip and the store's catalog.

    Returns the cleaned list; raises LoupeError (400) with `field` like `predictions[2].box`.
    """
    if predictions is None:
        return []
    if not isinstance(predictions, list):
        raise LoupeError("predictions must be a list.", field="predictions")
    if len(predictions) > MAX_PREDICTIONS:
        raise LoupeError(f"At most {MAX_PREDICTIONS} predictions are accepted.", field="predictions")
    cleaned, skus = [], {}
    for i, item in enumerate(predictions):
        at = f"predictions[{i}]"
        if not isinstance(item, dict):
            raise LoupeError("A prediction must be an object.", field=at)
        frame = item.get("frame")
        if not isinstance(frame, int) or isinstance(frame, bool) or not 0 <= frame < info.frame_count:
            raise LoupeError(f"frame must be an integer from 0 to {info.frame_count - 1}.", field=f"{at}.frame")
        label = item.get("label")
        if label not in PREDICTION_LABELS:
            raise LoupeError("label must be 'hand' or 'product'.", field=f"{at}.label")
        box = item.get("box")
        if not (isinstance(box, list) and len(box) == 4 and all(_number(v) for v in box)):
            raise LoupeError("box must be [x, y, w, h] in pixels.", field=f"{at}.box")
        x, y, w, h = box
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > info.width or y + h > info.height:
            raise LoupeError(f"box must lie inside the {info.width}x{info.height} frame.", field=f"{at}.box")
        score = item.get("score")
        if not _number(score) or not 0 <= score <= 1:
            raise LoupeError("score must be a number from 0 to 1.", field=f"{at}.score")
        out = {"frame": frame, "label": label, "box": list(box), "score": score}
        sku = item.get("sku")
        if sku is not None:
            if not isinstance(sku, str) or not sku or unstorable(sku):
                raise LoupeError("sku must be a product code.", field=f"{at}.sku")
            skus.setdefault(sku, f"{at}.sku")
            out["sku"] = sku
        cleaned.append(out)
    if skus:
        known = set(Product.objects.filter(store=store, sku__in=list(skus)).values_list("sku", flat=True))
        for sku, field in skus.items():
            if sku not in known:
                raise LoupeError(f"Unknown sku {sku!r} in store {store.code}.", code="unknown_sku", field=field)
    return cleaned
