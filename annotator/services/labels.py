"""Training labels: written in the submit transaction by both task kinds, served oldest first
by the labels feed (`GET /api/v1/labels/`).

**Order and the late-commit window.** The feed is incremental: a training pipeline keeps the
last cursor and comes back for what arrived since. Paging on `created_at`, or on the insert
sequence alone, would lose labels: two submits run concurrently, the one that inserted first
(lower `seq`, earlier `created_at`) commits last, a reader in between is handed a cursor past
the other one, and the first label then commits *behind* that cursor, never to be served.

So the feed pages on `seq` up to a **watermark**: the highest `seq` below which every label
is committed. On PostgreSQL each label-writing transaction holds a shared advisory lock
(`FEED_LOCK`) from just before its insert until it ends; the reader takes the same lock
exclusively for an instant (waiting for the writers in flight, at most `FEED_WAIT`), reads
`MAX(seq)` and lets go. Writers that come later draw larger `seq` values from the sequence,
so everything up to the watermark is final: no gaps, no duplicates, one index range scan.
If writers hold the lock longer than `FEED_WAIT`, the page is empty (`next` null) and the
caller comes back later; nothing is skipped. SQLite runs one writer at a time, so there the
watermark is simply `MAX(seq)`.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import OperationalError, connection, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from annotator.models import Annotation, Label, Task
from infra import cursors
from infra.errors import LoupeError

MAX_LIMIT = 1000
_CURSOR_SALT = "annotator.labels.cursor"
# The advisory lock key of label writers (shared) and the feed's watermark (exclusive).
FEED_LOCK = 0x4C6F7570654C6162  # "LoupeLab"
FEED_WAIT = "1s"
# PostgreSQL: a label writer's shared hold of the feed lock, and its transaction's id.
FEED_LOCK_SHARED = f"pg_advisory_xact_lock_shared({FEED_LOCK:d})"
TXID = "pg_current_xact_id()::text::bigint"


@dataclass(frozen=True)
class LabelIn:
    """One label to record; the task, annotation, associate, store and time come from the
    submit it is part of."""

    kind: str
    verdict: str
    predicted: object = None
    human: object = None
    model_version: str = ""
    snippet_id: uuid.UUID | str | None = None
    event_id: uuid.UUID | str | None = None
    provenance: dict = field(default_factory=dict)
    # A human judgement or the model's word left standing (see `Label.checked`), who made it,
    # and what they did with the media.
    checked: bool = True
    source: str = Label.Source.ASSOCIATE
    evidence: dict = field(default_factory=dict)
    # Consensus and adjudication labels only (annotator.services.consensus).
    agreement: float | None = None


def _stamp() -> int:
    """The writing transaction's id, after taking the feed's shared lock (held until this
    transaction ends: the feed's watermark waits for it, and it is taken before any `seq` of
    this transaction's labels is drawn). SQLite runs one writer at a time: 0, no lock."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {FEED_LOCK_SHARED}, {TXID}")
        return cursor.fetchone()[1]


def submit_provenance(*, task: Task, submission_id: uuid.UUID) -> dict:
    """Where a label came from, known before the submit writes (its active time and time
    follow)."""
    return {
        "queue": str(task.queue_id),
        "purpose": task.purpose,
        "overlap": task.overlap,
        "submission_id": str(submission_id),
    }


@transaction.atomic(savepoint=False)
def label_record(*, task: Task, annotation: Annotation, items: Iterable[LabelIn]) -> list[Label]:
    """Store the labels of one submitted annotation: the one writer of labels (a submit of
    one label calls it with one). Stamped with the writing transaction's id after the feed's
    shared advisory lock (see the module docstring), then one INSERT. Call inside the submit
    transaction (a failure here fails the submit: no savepoint); no row locks."""
    created_at = annotation.created_at or timezone.now()
    base = submit_provenance(task=task, submission_id=annotation.submission_id) | {
        "active_seconds": annotation.active_seconds,
        "submitted_at": created_at.isoformat(timespec="microseconds"),
    }
    labels = [
        Label(
            store_id=task.store_id,
            kind=item.kind,
            task_id=task.pk,
            annotation_id=annotation.pk,
            associate_id=annotation.associate_id,
            created_at=created_at,
            model_version=item.model_version,
            predicted=item.predicted,
            human=item.human,
            verdict=item.verdict,
            snippet_id=item.snippet_id,
            event_id=item.event_id,
            provenance=base | item.provenance,
            checked=item.checked,
            source=item.source,
            evidence=item.evidence,
            agreement=item.agreement,
        )
        for item in items
    ]
    if not labels:
        return labels
    txid = _stamp()
    for label in labels:
        label.txid = txid
    return Label.objects.bulk_create(labels)


# The feed ------------------------------------------------------------------------------------


def cursor_encode(seq: int) -> str:
    """Opaque and signed: a cursor cannot be forged, only handed back."""
    return cursors.cursor_encode(seq, salt=_CURSOR_SALT)


def cursor_decode(cursor: str) -> int:
    return cursors.cursor_decode(cursor, salt=_CURSOR_SALT, issuer="feed")


def labels_watermark() -> int | None:
    """The highest `seq` below which every label is committed (see the module docstring); None
    when writers kept the feed lock past `FEED_WAIT` (serve nothing new this time)."""
    if connection.vendor != "postgresql":
        return Label.objects.aggregate(top=Max("seq"))["top"] or 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{FEED_WAIT}'")
        try:
            with transaction.atomic():
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FEED_LOCK])
        except OperationalError:  # lock_timeout
            return None
        finally:
            # Called inside a longer transaction, the timeout must not outlive this read.
            cursor.execute("SET LOCAL lock_timeout = DEFAULT")
        return Label.objects.aggregate(top=Max("seq"))["top"] or 0


@dataclass(frozen=True)
class LabelPage:
    labels: list[Label]
    next: str | None
    has_more: bool


def labels_page(*, stores: QuerySet, cursor: str | None = None, limit: int = MAX_LIMIT) -> LabelPage:
    """Labels of `stores` after `cursor`, oldest first (by commit, see the module docstring),
    at most `limit` of them. `next` is the cursor after the last label served, for the
    following page and for coming back later; null when there was nothing to serve (then
    call again later with the same cursor). One index range scan on (store, seq) or seq."""
    if not 1 <= limit <= MAX_LIMIT:
        raise LoupeError(f"limit must be between 1 and {MAX_LIMIT}.", code="invalid", field="limit")
    after = cursor_decode(cursor) if cursor else 0
    store_ids = list(stores.values_list("id", flat=True))
    watermark = labels_watermark()
    if watermark is None or not store_ids:
        return LabelPage(labels=[], next=None, has_more=False)
    # Labels of an erased shopper's visits leave the feed (annotator.services.retention).
    labels = Label.objects.filter(store_id__in=store_ids, seq__gt=after, seq__lte=watermark, erased_at__isnull=True)
    rows = list(labels.select_related("store").order_by("seq")[: limit + 1])
    page, has_more = rows[:limit], len(rows) > limit
    return LabelPage(labels=page, next=cursor_encode(page[-1].seq) if page else None, has_more=has_more)


def label_data(label: Label) -> dict:
    """A label as the feed serves it."""
    return {
        "id": str(label.id),
        "kind": label.kind,
        "store": label.store.code,
        "task": str(label.task_id),
        "annotation": str(label.annotation_id),
        "associate": label.associate_id,
        "created_at": label.created_at.isoformat(),
        "model_version": label.model_version,
        "verdict": label.verdict,
        "predicted": label.predicted,
        "human": label.human,
        "snippet": str(label.snippet_id) if label.snippet_id else None,
        "event": str(label.event_id) if label.event_id else None,
        "provenance": label.provenance,
        "checked": label.checked,
        "source": label.source,
        "evidence": label.evidence,
        "agreement": label.agreement,
    }
