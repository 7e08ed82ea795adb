"""Training labels: written in the submit transaction by both task kinds, served oldest first
by the labels feed (`GET /api/v1/labels/`).

**Order and the late-commit window.** The feed is incremental: a training pipeline keeps the
last cursor and comes back for what arrived since. Paging on `created_at` (or on an id
sequence alone) would lose labels: two submits run concurrently, the one that inserted
first (lower `seq`, earlier `created_at`) commits last, a reader in between is handed a
cursor past the later one, and the first label then commits *behind* that cursor, never to
be served. So:

- every label carries `seq` (assigned at insert) and `txid`, the id of the transaction that
  wrote it (PostgreSQL's `pg_current_xact_id()`; 0 on SQLite, where writers run one at a time
  and insert order is commit order);
- the feed pages on (`txid`, `seq`) and serves only rows whose transaction is over:
  `txid < pg_snapshot_xmin(pg_current_snapshot())`, the oldest transaction still running.
  Every transaction still running (or yet to start) has a larger id than every row served,
  so whatever it commits sorts after the cursor: no gaps, no duplicates, on one index.

The price: a label is served once every transaction older than its own has ended, so a
long-running writing transaction anywhere in the database holds the feed back (delays,
never loses) while it runs; submits and ingests are short. A reader's own uncommitted
labels (same transaction, e.g. a test) are served too.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core import signing
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from annotator.models import Annotation, Label, Task
from catalog.errors import LoupeError

MAX_LIMIT = 1000
_CURSOR_SALT = "annotator.labels.cursor"


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


def _current_txid() -> int:
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        return cursor.fetchone()[0]


@transaction.atomic
def label_record(*, task: Task, annotation: Annotation, items: Iterable[LabelIn]) -> list[Label]:
    """Store labels for one submitted annotation, stamped with the writing transaction's id
    (see the module docstring). Call inside the submit transaction; locks nothing."""
    items = list(items)
    if not items:
        return []
    txid = _current_txid()
    now = timezone.now()
    base = {
        "queue": str(task.queue_id),
        "purpose": task.purpose,
        "overlap": task.overlap,
        "submission_id": str(annotation.submission_id),
        "active_seconds": annotation.active_seconds,
        "submitted_at": (annotation.created_at or now).isoformat(),
    }
    return Label.objects.bulk_create(
        Label(
            txid=txid,
            store_id=task.store_id,
            kind=item.kind,
            task_id=task.pk,
            annotation_id=annotation.pk,
            associate_id=annotation.associate_id,
            created_at=now,
            model_version=item.model_version,
            predicted=item.predicted,
            human=item.human,
            verdict=item.verdict,
            snippet_id=item.snippet_id,
            event_id=item.event_id,
            provenance=base | item.provenance,
        )
        for item in items
    )


# The feed ------------------------------------------------------------------------------------


def cursor_encode(txid: int, seq: int) -> str:
    """Opaque and signed: a cursor cannot be forged, only handed back."""
    return signing.dumps([txid, seq], salt=_CURSOR_SALT)


def cursor_decode(cursor: str) -> tuple[int, int]:
    try:
        key = signing.loads(cursor, salt=_CURSOR_SALT)
    except signing.BadSignature:
        key = None
    if not (isinstance(key, list) and len(key) == 2 and all(type(v) is int for v in key)):
        raise LoupeError("This cursor was not issued by this feed.", code="invalid_cursor", field="cursor")
    return key[0], key[1]


def _finished_transactions() -> Q:
    """Rows whose writing transaction is over (or is the reader's own)."""
    if connection.vendor != "postgresql":
        return Q()
    xmin = RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", [])
    own = RawSQL("COALESCE(pg_current_xact_id_if_assigned()::text::bigint, -1)", [])
    return Q(txid__lt=xmin) | Q(txid=own)


@dataclass(frozen=True)
class LabelPage:
    labels: list[Label]
    next: str | None
    has_more: bool


def labels_page(*, stores: QuerySet, cursor: str | None = None, limit: int = MAX_LIMIT) -> LabelPage:
    """Labels of `stores` after `cursor`, oldest first (by commit, see the module docstring),
    at most `limit` of them. `next` is the cursor after the last label served, for the
    following page and for coming back later; null when there was nothing to serve (then
    call again later with the same cursor). One index range scan on (store, txid, seq) or
    (txid, seq)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise LoupeError(f"limit must be between 1 and {MAX_LIMIT}.", code="invalid", field="limit")
    store_ids = list(stores.values_list("id", flat=True))
    labels = Label.objects.filter(_finished_transactions(), store_id__in=store_ids)
    if cursor:
        txid, seq = cursor_decode(cursor)
        # The redundant lower bound gives the planner the start of the index range.
        labels = labels.filter(txid__gte=txid).filter(Q(txid__gt=txid) | Q(seq__gt=seq))
    rows = list(labels.select_related("store").order_by("txid", "seq")[: limit + 1])
    page, has_more = rows[:limit], len(rows) > limit
    after = cursor_encode(page[-1].txid, page[-1].seq) if page else None
    return LabelPage(labels=page, next=after, has_more=has_more)


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
    }
