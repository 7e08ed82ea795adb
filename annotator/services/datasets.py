"""Datasets: immutable versions of training data (docs/datasets.md).

`dataset_create` resolves the filters to a frozen, ordered list of labels (`DatasetItem`,
one INSERT … SELECT) and enqueues the build on the "exports" queue in the same
transaction, so the task row commits with the dataset or not at all. `dataset_build` runs
in the worker: it claims the dataset with a conditional UPDATE (queued → running, counting
the attempt, which then fences every later write, and taking a lease), streams the rows in
position order through the format's writer into a temporary file, extending the lease after
each batch, hashes it, saves it through the storage API and marks the dataset ready; any
exception marks it failed with the reason, and `dataset_retry` queues it again. A build whose
worker died keeps `running` only until its lease runs out: then a later run, a retry or
`datasets_recover` takes it over, and the dead attempt, fenced out, can no longer write.
The same dataset always produces the same bytes.
"""

import datetime as dt
import hashlib
import logging
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from annotator import tasks
from annotator.exports.coco import write_coco
from annotator.exports.csv_rows import write_csv
from annotator.exports.jsonl import write_jsonl
from annotator.exports.rows import Pseudonyms, dataset_rows, iso
from annotator.models import Dataset, DatasetItem, Label
from annotator.services.dataset_filters import dataset_filters_clean, dataset_labels
from infra.errors import Conflict, LoupeError
from infra.text import storable

logger = logging.getLogger(__name__)

EXTENSIONS = {Dataset.Format.JSONL: "jsonl", Dataset.Format.CSV: "csv", Dataset.Format.COCO: "zip"}
CONTENT_TYPES = {
    Dataset.Format.JSONL: "application/x-ndjson",
    Dataset.Format.CSV: "text/csv; charset=utf-8",
    Dataset.Format.COCO: "application/zip",
}
WRITERS: dict[str, Callable[..., dict]] = {
    Dataset.Format.JSONL: write_jsonl,
    Dataset.Format.CSV: write_csv,
    Dataset.Format.COCO: write_coco,
}
# Rows per keyset batch, and so per progress update. COCO decodes video: smaller batches.
BATCH = {Dataset.Format.JSONL: 5000, Dataset.Format.CSV: 5000, Dataset.Format.COCO: 50}
MANIFEST_SCHEMA = "loupe.dataset.manifest/1"


def _freeze(dataset: Dataset, labels: QuerySet[Label]) -> int:
    """Insert the dataset's items in one statement; positions follow label order from 0."""
    select, params = labels.order_by().values_list("seq", flat=True).query.sql_with_params()
    table = connection.ops.quote_name(DatasetItem._meta.db_table)
    dataset_key = DatasetItem._meta.get_field("dataset").get_db_prep_value(dataset.pk, connection)
    # Table and column names are ours; values are parameters.
    sql = (
        f"INSERT INTO {table} (dataset_id, label_id, position) "  # noqa: S608
        f"SELECT %s, picked.seq, ROW_NUMBER() OVER (ORDER BY picked.seq) - 1 FROM ({select}) AS picked"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [dataset_key, *params])
        return cursor.rowcount


@transaction.atomic
def dataset_create(*, name: str, format: str, filters: Any, by) -> Dataset:
    """Create a dataset, freeze its labels and enqueue its build (queue "exports"), all in one
    transaction. Locks nothing; labels committed later are never part of it. Raises Http404
    for a store `by` is not granted, LoupeError (400) for bad input."""
    name = (name or "").strip() if isinstance(name, str) else ""
    if not 1 <= len(name) <= 200:
        raise LoupeError("name must be 1 to 200 characters.", field="name")
    storable(name, "name")
    cleaned = dataset_filters_clean(format=format, filters=filters, by=by)
    dataset = Dataset.objects.create(name=name, format=format, filters=cleaned.as_json(), created_by=by)
    dataset.stores.set(cleaned.stores)
    dataset.items = _freeze(dataset, dataset_labels(filters=cleaned))
    dataset.manifest = _manifest(dataset)
    dataset.save(update_fields=["items", "manifest"])
    tasks.dataset_build.enqueue(str(dataset.pk))
    return dataset


def _stalled(now: dt.datetime) -> Q:
    """Running builds whose lease has run out (no lease: started before leases existed)."""
    return Q(status=Dataset.Status.RUNNING) & (Q(running_until__lt=now) | Q(running_until__isnull=True))


def _requeue(dataset: Dataset) -> None:
    dataset.status, dataset.progress, dataset.error, dataset.finished_at = Dataset.Status.QUEUED, 0.0, "", None
    dataset.running_until = None
    dataset.save(update_fields=["status", "progress", "error", "finished_at", "running_until"])
    tasks.dataset_build.enqueue(str(dataset.pk))


@transaction.atomic
def dataset_retry(*, dataset: Dataset, by) -> Dataset:
    """Queue a failed dataset's build again (same frozen labels, so the same bytes as a first
    success would have had), or a stalled one (running, its lease run out: its worker died).
    Locks the dataset row; 409 `not_failed` otherwise."""
    locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
    if locked.status != Dataset.Status.FAILED and not locked.stalled:
        raise Conflict("Only a failed dataset, or one whose build stalled, can be retried.", code="not_failed")
    _requeue(locked)
    return locked


def datasets_recover() -> int:
    """Queue again every build whose worker died (its lease ran out); returns how many.

    django-tasks-db leaves a killed worker's task `RUNNING` and never runs it again, so
    nothing else would. Locks each stalled dataset row, skipping ones another process holds.
    """
    recovered = 0
    with transaction.atomic():
        for dataset in Dataset.objects.select_for_update(skip_locked=True).filter(_stalled(timezone.now())):
            logger.warning("dataset %s: attempt %s stalled (lease ran out); queued again", dataset.pk, dataset.attempts)
            _requeue(dataset)
            recovered += 1
    return recovered


# Build ----------------------------------------------------------------------------------------


def _manifest(dataset: Dataset, **extra) -> dict:
    return {
        "schema": MANIFEST_SCHEMA,
        "dataset": str(dataset.pk),
        "name": dataset.name,
        "format": dataset.format,
        "filters": dataset.filters,
        "items": dataset.items,
        "created_at": iso(dataset.created_at),
        "created_by": dataset.created_by_id,
        "pseudonyms": "visit, event and associate ids: HMAC-SHA256 keyed per dataset, 16 hex digits",
    } | extra


def _sha256(file) -> str:
    file.seek(0)
    digest = hashlib.sha256()
    while chunk := file.read(1024 * 1024):
        digest.update(chunk)
    return digest.hexdigest()


class _Hashing:
    """A write-only view of a file that hashes what goes through it, for the writers that
    only ever append (JSONL, CSV): no second pass over the file. (A zip seeks back to patch
    its headers, so COCO is hashed after writing.)"""

    def __init__(self, file):
        self._file, self.digest = file, hashlib.sha256()

    def write(self, data) -> int:
        self.digest.update(data)
        return self._file.write(data)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, LoupeError | OSError) or "Snippet" in text else f"{type(exc).__name__}: {text}"


class _LostClaim(Exception):
    """This attempt's lease was taken over (or the dataset retried, or deleted): stop."""


class DatasetBuildTimeout(LoupeError):
    code = "build_timeout"


_clock = time.monotonic  # the time budget's clock (tests move it)


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.DATASET_BUILD_LEASE_S)


def dataset_build(*, dataset_id: uuid.UUID | str, run_id: str = "") -> Dataset | None:
    """Write a queued dataset's file (the worker calls this). Claims it first (queued, or
    stalled: running with its lease run out → running, attempts + 1, a new lease; one
    conditional UPDATE): a duplicate run of a live build finds nothing to do. Holds no
    transaction while writing; every later write is fenced on the attempt number, and a run
    that finds itself fenced out stops without touching the dataset.

    `run_id` is the task result of this run: the run that holds a build takes it back when
    it runs again after a database error cut it short (`manage.py worker` runs it again), so
    the build need not wait for its lease to run out."""
    now = timezone.now()
    takeable = Q(status=Dataset.Status.QUEUED) | _stalled(now)
    if run_id:
        takeable |= Q(status=Dataset.Status.RUNNING, run_id=run_id)
    claimed = (
        Dataset.objects.filter(pk=dataset_id)
        .filter(takeable)
        .update(
            run_id=run_id,
            status=Dataset.Status.RUNNING,
            started_at=now,
            running_until=now + _lease(),
            progress=0.0,
            error="",
            attempts=F("attempts") + 1,
        )
    )
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if not claimed or dataset is None:
        return dataset
    mine = Dataset.objects.filter(pk=dataset.pk, status=Dataset.Status.RUNNING, attempts=dataset.attempts)
    total = max(dataset.items, 1)
    budget_s = settings.DATASET_BUILD_TIMEOUT_S
    deadline = _clock() + budget_s

    def within_budget() -> None:
        # A build that never ends would hold its worker, and the exports queue, forever.
        if _clock() > deadline:
            raise DatasetBuildTimeout(
                f"The build took longer than its time budget of {budget_s} s (DATASET_BUILD_TIMEOUT_S) "
                "and was stopped. Retry it, or make the dataset smaller with narrower filters."
            )

    def on_batch(done: int) -> None:
        within_budget()
        if not mine.update(progress=round(min(done / total, 0.999), 4), running_until=timezone.now() + _lease()):
            raise _LostClaim

    name = f"datasets/{dataset.pk}.{EXTENSIONS[dataset.format]}"
    try:
        with tempfile.TemporaryFile(prefix="loupe-dataset-") as spool:
            rows = dataset_rows(dataset, batch_size=BATCH[dataset.format], on_batch=on_batch)
            out = spool if dataset.format == Dataset.Format.COCO else _Hashing(spool)
            counts = WRITERS[dataset.format](dataset=dataset, rows=rows, out=out, pseudonym=Pseudonyms(dataset.pk))
            size = spool.tell()
            sha256 = _sha256(spool) if out is spool else out.digest.hexdigest()
            spool.seek(0)
            # The upload may take a while: a fresh lease for it, and a last check of the claim.
            within_budget()
            if not mine.update(running_until=timezone.now() + _lease()):
                raise _LostClaim
            default_storage.delete(name)  # a leftover of an earlier attempt: keep the name stable
            saved = default_storage.save(name, File(spool, name=name))
    except _LostClaim:
        logger.warning("dataset %s: attempt %s lost its claim; stopped", dataset.pk, dataset.attempts)
        return Dataset.objects.filter(pk=dataset.pk).first()
    except Exception as exc:
        logger.exception("dataset %s failed", dataset.pk)
        mine.update(
            status=Dataset.Status.FAILED, error=_reason(exc)[:2000], finished_at=timezone.now(), running_until=None
        )
        return Dataset.objects.get(pk=dataset.pk)
    manifest = _manifest(dataset, counts=counts, sha256=sha256, size_bytes=size, file=saved.rsplit("/", 1)[-1])
    done = mine.update(
        status=Dataset.Status.READY,
        progress=1.0,
        file=saved,
        sha256=sha256,
        size_bytes=size,
        manifest=manifest,
        finished_at=timezone.now(),
        running_until=None,
    )
    if not done:  # retried or deleted meanwhile: the newer attempt owns the name
        logger.warning("dataset %s: attempt %s lost its claim", dataset.pk, dataset.attempts)
    return Dataset.objects.filter(pk=dataset.pk).first()


def dataset_filename(dataset: Dataset) -> str:
    """The download's file name: the dataset's name made safe, and its id."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in dataset.name).strip("-")[:60] or "dataset"
    return f"{safe}-{str(dataset.pk)[:8]}.{EXTENSIONS[dataset.format]}"
