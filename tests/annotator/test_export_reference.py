"""The fast JSONL and CSV writers give the very bytes the previous writers gave
(`tests/annotator/export_reference.py`, Django values and `json.dumps` per row) on the same
dataset, including values that orjson alone would write or read differently."""

import datetime as dt
import hashlib
import io
import uuid

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from annotator.models import Label
from annotator.services import datasets
from annotator.services.datasets import dataset_build, dataset_create
from tests.annotator import export_reference
from tests.annotator.labelling import event_label, ingest_clip, record, snippet_label

pytestmark = pytest.mark.django_db


def event(store, associate, *, predicted, human, verdict="correct", provenance=None, snippet=None) -> Label:
    return record(
        store=store,
        associate=associate,
        kind=Label.Kind.VISIT_EVENT,
        verdict=verdict,
        predicted=predicted,
        human=human,
        snippet=snippet,
        event_id=uuid.uuid4(),
        provenance={"visit": str(uuid.uuid4()), "occurred_at": "2026-05-01T10:00:00+00:00"}
        if provenance is None
        else provenance,
    )


@pytest.fixture
def awkward(s001, alice):
    """Labels with every kind of value the writers meet, ordinary and not."""
    visit = uuid.uuid4()
    for verdict in ("confirm", "correct", "reject", "missed"):
        event_label(store=s001, associate=alice, visit_id=visit, verdict=verdict, final_sku="SKU-0003")
    take = {"action": "take", "sku": "SKU-0001", "quantity": 1}
    # Floats orjson writes differently (below 1e-4), and ones it writes the same.
    for confidence in (3e-05, 0.00005, 1e-7, 0.0001, 1e16, 0.1 + 0.2, 1, True, "0.5", 0.0, -0.0):
        event(s001, alice, predicted=take | {"confidence": confidence}, human=take)
    # Numbers orjson reads differently: beyond 64 bits, long digit runs.
    event(s001, alice, predicted=take | {"quantity": 2**70, "confidence": 0.5}, human=take | {"quantity": -(2**64)})
    event(s001, alice, predicted=take | {"confidence": 0.12345678901234567}, human=take | {"quantity": 10**17})
    # Text: non-ASCII, separators, quotes, controls; values of any JSON type.
    odd = "é😀\u2028\u2029\x01\x1f\x7f\"\\/,\r\n 'q'"
    event(s001, alice, predicted=take | {"sku": odd, "confidence": 0.9}, human=take | {"sku": odd, "action": odd})
    # Text a spreadsheet would run as a formula, and numbers that only look like it.
    for formula in ("=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx", "'=quoted"):
        event(s001, alice, predicted=take | {"sku": formula, "confidence": -1.5}, human=take | {"action": formula})
    event(s001, alice, predicted=take | {"quantity": "-3", "confidence": 0.5}, human=take | {"quantity": -3})
    nested = {"z": [1, 2.5, 1e-9, None, True], "a": {"é": "x", "Z": 1}}
    event(s001, alice, predicted=take | {"sku": nested, "confidence": 0.7}, human=take | {"sku": nested})
    # Shapes off the usual path: no dicts, a missing key, times elsewhere, a visit id by another name.
    event(s001, alice, predicted=["take"], human=["x"], verdict="correct")
    event(s001, alice, predicted=None, human=take, verdict="missed", provenance={"visit_id": 12345})
    event(s001, alice, predicted=take | {"occurred_at": "2026-05-02T00:00:00Z"}, human=None, verdict="confirm")
    event(s001, alice, predicted=take, human=take | {"occurred_at": 0}, provenance={"visit": ""})
    event(s001, alice, predicted=take, human=None, verdict="reject", provenance={"visit": 0, "occurred_at": ""})
    # Snippets: boxes as drawn, and as no workbench would send them; the model's boxes.
    snippet, clip = ingest_clip(s001, external_id="clip-1", reuse_redaction=True)
    snippet_label(store=s001, associate=alice, snippet=snippet, boxes=clip.boxes[:5])
    snippet_label(store=s001, associate=alice, snippet=snippet, boxes=[], action="none", sku=None)
    weird_boxes = [
        {"frame": "3", "label": "hand", "x": 1.9, "y": True, "w": 4, "h": 5},
        {"frame": 1, "label": "product", "x": 1, "y": 2},
        "not a box",
        {"frame": 2, "label": 7, "x": 0, "y": 0, "w": 1, "h": 1, "extra": 1e-6},
    ]
    label = snippet_label(store=s001, associate=alice, snippet=snippet, boxes=weird_boxes, sku=odd)
    predictions = [
        {"frame": 1, "label": "hand", "box": [1.5, 2, 3, 4], "score": 0.000012, "extra": "x"},
        {"frame": 2, "label": "product", "sku": "SKU-0002", "box": [1, 2, 3, 4], "score": 0.91},
        "junk",
    ]
    Label.objects.filter(pk=label.pk).update(predicted=predictions)
    event(s001, alice, predicted=take | {"confidence": 0.8}, human=take, snippet=snippet)  # an event with its clip
    # Event times as stores may send them: offsets, naive, a date, a fraction, years UTC
    # cannot hold or that need padding, and no time at all.
    for occurred_at in (
        "2026-05-01T12:30:00-02:00",
        "2026-05-01T10:00:00.5Z",
        "2026-05-01 10:00",
        "2026-05-01",
        "0001-01-01T00:30:00+01:00",
        "0999-12-31T23:00:00+00:00",
        "not a time",
    ):
        provenance = {"visit": str(uuid.uuid4()), "occurred_at": occurred_at}
        event(s001, alice, predicted=take | {"confidence": 0.5}, human=take, provenance=provenance)
    # Odd provenance and times.
    odd_provenance = event(s001, alice, predicted=take | {"confidence": 0.4}, human=take)
    Label.objects.filter(pk=odd_provenance.pk).update(provenance=["not", "a", "dict"])
    whole_second = event(s001, alice, predicted=take | {"confidence": 0.4}, human=take)
    at = timezone.now().replace(microsecond=0) - dt.timedelta(days=1)
    Label.objects.filter(pk=whole_second.pk).update(created_at=at)


def reference_bytes(fmt: str, dataset) -> tuple[bytes, dict]:
    out = io.BytesIO()
    writer = {"jsonl": export_reference.write_jsonl, "csv": export_reference.write_csv}[fmt]
    rows = export_reference.dataset_rows(dataset, batch_size=7)
    counts = writer(rows=rows, out=out, pseudonym=export_reference.Pseudonyms(dataset.pk))
    return out.getvalue(), counts


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize("batch", [3, 5000])
def test_fast_writers_give_the_previous_writers_bytes(s001, carol, awkward, fmt, batch, monkeypatch):
    monkeypatch.setitem(datasets.BATCH, fmt, batch)
    dataset = dataset_build(dataset_id=dataset_create(name=f"ref {fmt}", format=fmt, filters={}, by=carol).pk)
    assert dataset.status == "ready", dataset.error
    with default_storage.open(dataset.file.name, "rb") as f:
        data = f.read()

    expected, counts = reference_bytes(fmt, dataset)

    assert data.splitlines() == expected.splitlines()  # a readable diff first
    assert data == expected
    assert dataset.sha256 == hashlib.sha256(expected).hexdigest()
    assert dataset.size_bytes == len(expected)
    assert dataset.manifest["counts"] == counts
    assert counts["rows"] >= 20
