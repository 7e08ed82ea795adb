import datetime as dt
import hashlib
import json

import pytest
from django.core.files.storage import default_storage
from django.http import Http404
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from annotator.access import dataset_for_user, datasets_for_user
from annotator.models import Dataset, DatasetItem, Label
from annotator.services import datasets
from annotator.services.datasets import (
    dataset_build,
    dataset_create,
    dataset_retry,
)
from catalog import roles
from infra.errors import Conflict, LoupeError
from tests.annotator.labelling import event_label, ingest_clip, snippet_label
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def stored_bytes(dataset: Dataset) -> bytes:
    with default_storage.open(dataset.file.name, "rb") as f:
        return f.read()


def test_create_freezes_the_matching_labels_and_enqueues_the_build(s001, s002, alice, bob, carol):
    wanted = [event_label(store=s001, associate=alice) for _ in range(3)]
    event_label(store=s002, associate=bob)
    event_label(store=s001, associate=alice, model_version="model-6")

    dataset = dataset_create(
        name="May takes", format="jsonl", filters={"store": "S001", "model_version": "model-7"}, by=carol
    )

    assert dataset.status == "queued"
    assert dataset.items == 3
    items = DatasetItem.objects.filter(dataset=dataset).order_by("position")
    assert [i.label_id for i in items] == [label.seq for label in wanted]
    assert [i.position for i in items] == [0, 1, 2]
    assert dataset.filters["stores"] == ["S001"]
    assert dataset.filters["kinds"] == ["visit_event", "snippet"]
    job = DBTaskResult.objects.get()
    assert job.queue_name == "exports"
    assert job.args_kwargs["args"] == [str(dataset.pk)]


def test_later_labels_never_change_a_created_dataset(s001, alice, carol):
    event_label(store=s001, associate=alice)
    dataset = dataset_create(name="v1", format="csv", filters={}, by=carol)
    event_label(store=s001, associate=alice)
    event_label(store=s001, associate=alice)

    built = dataset_build(dataset_id=dataset.pk)

    assert built.items == 1
    assert built.manifest["counts"]["rows"] == 1
    assert stored_bytes(built).count(b"\r\n") == 2  # header and one row
    assert DatasetItem.objects.filter(dataset=dataset).count() == 1


def test_time_range_and_kinds_select_labels(s001, alice, carol):
    old = event_label(store=s001, associate=alice)
    Label.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=10))
    event_label(store=s001, associate=alice)
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()

    recent = dataset_create(name="recent", format="jsonl", filters={"since": since}, by=carol)
    older = dataset_create(name="older", format="jsonl", filters={"until": since}, by=carol)
    snippets_only = dataset_create(name="snips", format="jsonl", filters={"kinds": ["snippet"]}, by=carol)

    assert (recent.items, older.items, snippets_only.items) == (1, 1, 0)


def test_a_date_alone_means_midnight_utc(s001, alice, carol):
    event_label(store=s001, associate=alice)
    today = timezone.now().date()

    dataset = dataset_create(
        name="days",
        format="jsonl",
        filters={"since": today.isoformat(), "until": str(today + dt.timedelta(days=1))},
        by=carol,
    )

    assert (dataset.filters["since"], dataset.filters["until"]) == (
        f"{today.isoformat()}T00:00:00Z",
        f"{today + dt.timedelta(days=1)}T00:00:00Z",
    )
    assert dataset.items == 1


def test_reviewed_only_needs_every_reviewer_and_agreed_only_drops_contradicted_labels(s001, alice, carol):
    bob_s001 = UserFactory(username="bob1", role=roles.ASSOCIATE, stores=[s001])
    visit_agreed = event_label(store=s001, associate=alice)
    # Two reviewers of one task who disagree about one event.
    first = event_label(store=s001, associate=alice, verdict="confirm")
    first.task.overlap = 2
    first.task.status = "open"
    first.task.save(update_fields=["overlap", "status"])
    first.task.slots.create(index=1, queue=first.task.queue, due_at=first.task.due_at, created_at=timezone.now())
    second = event_label(store=s001, associate=bob_s001, verdict="reject", task=first.task)
    Label.objects.filter(pk=second.pk).update(event_id=first.event_id)

    reviewed = dataset_create(name="r", format="jsonl", filters={"reviewed_only": True}, by=carol)
    agreed = dataset_create(name="a", format="jsonl", filters={"agreed_only": True}, by=carol)

    assert reviewed.items == 3  # both tasks are done
    assert list(DatasetItem.objects.filter(dataset=agreed).values_list("label_id", flat=True)) == [visit_agreed.seq]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "", "format": "jsonl", "filters": {}}, "name"),
        ({"name": "x" * 201, "format": "jsonl", "filters": {}}, "name"),
        ({"name": "n", "format": "parquet", "filters": {}}, "format"),
        ({"name": "n", "format": "jsonl", "filters": []}, "filters"),
        ({"name": "n", "format": "jsonl", "filters": {"colour": "red"}}, "filters.colour"),
        ({"name": "n", "format": "jsonl", "filters": {"kinds": ["audio"]}}, "filters.kinds"),
        ({"name": "n", "format": "csv", "filters": {"kinds": ["snippet"]}}, "filters.kinds"),
        ({"name": "n", "format": "coco", "filters": {"kinds": ["visit_event"]}}, "filters.kinds"),
        ({"name": "n", "format": "jsonl", "filters": {"since": "yesterday"}}, "filters.since"),
        ({"name": "n", "format": "jsonl", "filters": {"since": "2026-05-01T00:00:00"}}, "filters.since"),
        (
            {"name": "n", "format": "jsonl", "filters": {"since": "2026-05-02T00:00:00Z", "until": "2026-05-01"}},
            "filters.until",
        ),
        ({"name": "n", "format": "jsonl", "filters": {"reviewed_only": "yes"}}, "filters.reviewed_only"),
        ({"name": "n", "format": "jsonl", "filters": {"stores": "S001"}}, "filters.stores"),
        ({"name": "May\x00", "format": "jsonl", "filters": {}}, "name"),
        ({"name": "n", "format": "jsonl", "filters": {"model_version": "\ud800"}}, "filters.model_version"),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(s001, carol, fields, field):
    with pytest.raises(LoupeError) as caught:
        dataset_create(by=carol, **fields)
    assert caught.value.field == field
    assert not Dataset.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_another_stores_labels_are_a_404_and_create_nothing(s001, s002, alice, sam):
    event_label(store=s001, associate=alice)
    with pytest.raises(Http404):
        dataset_create(name="theirs", format="jsonl", filters={"stores": ["S002", "S001"]}, by=sam)
    assert not Dataset.objects.exists()


def test_a_dataset_is_visible_only_to_whoever_is_granted_all_its_stores(s001, s002, alice, carol, sam):
    both = UserFactory(username="boss", role=roles.SUPERVISOR, stores=[s001, s002])
    dataset = dataset_create(name="both", format="jsonl", filters={"stores": ["S001", "S002"]}, by=both)
    assert list(datasets_for_user(both)) == [dataset]
    assert not datasets_for_user(carol).exists()
    assert not datasets_for_user(alice).exists()  # associates never
    with pytest.raises(Http404):
        dataset_for_user(sam, dataset.pk)
    with pytest.raises(Http404):
        dataset_for_user(both, "not-a-uuid")


def test_build_writes_the_file_once_and_records_size_hash_and_progress(s001, alice, carol):
    for _ in range(7):
        event_label(store=s001, associate=alice)
    dataset = dataset_create(name="seven", format="jsonl", filters={}, by=carol)

    built = dataset_build(dataset_id=dataset.pk)

    data = stored_bytes(built)
    assert built.status == "ready"
    assert built.progress == 1.0
    assert built.attempts == 1
    assert built.size_bytes == len(data)
    assert built.sha256 == hashlib.sha256(data).hexdigest()
    assert built.manifest["counts"] == {"rows": 7, "kinds": {"visit_event": 7}}
    assert built.manifest["sha256"] == built.sha256
    # A duplicate run of the task finds nothing to do.
    again = dataset_build(dataset_id=dataset.pk)
    assert again.attempts == 1
    assert again.finished_at == built.finished_at


def test_a_failing_build_is_marked_failed_with_its_reason_and_can_be_retried(s001, alice, carol):
    snippet, clip = ingest_clip(s001, external_id="clip-gone", reuse_redaction=True)
    snippet_label(store=s001, associate=alice, snippet=snippet, boxes=clip.boxes[:3])
    dataset = dataset_create(name="coco", format="coco", filters={}, by=carol)
    kept = default_storage.open(snippet.file.name, "rb").read()
    default_storage.delete(snippet.file.name)

    failed = dataset_build(dataset_id=dataset.pk)

    assert failed.status == "failed"
    assert "S001/clip-gone" in failed.error
    assert "missing" in failed.error
    assert not failed.file
    with pytest.raises(Conflict):
        dataset_retry(dataset=dataset_create(name="other", format="jsonl", filters={}, by=carol), by=carol)

    retried = dataset_retry(dataset=failed, by=carol)
    assert retried.status == "queued"
    assert retried.error == ""
    assert DBTaskResult.objects.filter(queue_name="exports").count() == 3
    with default_storage.open(snippet.file.name, "wb") as f:
        f.write(kept)
    rebuilt = dataset_build(dataset_id=dataset.pk)
    assert rebuilt.status == "ready"
    assert rebuilt.attempts == 2
    assert rebuilt.manifest["counts"]["images"] == len({box["frame"] for box in clip.boxes[:3]})


def test_the_same_dataset_always_produces_the_same_bytes(s001, alice, carol):
    snippet, clip = ingest_clip(s001, external_id="clip-1", reuse_redaction=True)
    snippet_label(store=s001, associate=alice, snippet=snippet, boxes=clip.boxes[:6])
    for fmt in ("jsonl", "csv", "coco"):
        event_label(store=s001, associate=alice)
        dataset = dataset_create(name=fmt, format=fmt, filters={}, by=carol)
        first = dataset_build(dataset_id=dataset.pk)
        first_bytes = stored_bytes(first)
        Dataset.objects.filter(pk=dataset.pk).update(status="failed")
        dataset_retry(dataset=first, by=carol)
        second = dataset_build(dataset_id=dataset.pk)
        assert second.sha256 == first.sha256, fmt
        assert stored_bytes(second) == first_bytes
        assert second.file.name == first.file.name


def test_rows_are_read_in_batches_in_position_order_with_progress_after_each(s001, alice, carol, monkeypatch):
    for _ in range(5):
        event_label(store=s001, associate=alice)
    dataset = dataset_create(name="batches", format="jsonl", filters={}, by=carol)
    monkeypatch.setitem(datasets.BATCH, "jsonl", 2)
    seen = []
    update = Dataset.objects.filter(pk=dataset.pk).values_list("progress", flat=True)
    original = datasets.dataset_rows

    def spying_rows(*args, on_batch=None, **kwargs):
        def record(done):
            on_batch(done)
            seen.append((done, update.get()))

        return original(*args, on_batch=record, **kwargs)

    monkeypatch.setattr(datasets, "dataset_rows", spying_rows)

    built = dataset_build(dataset_id=dataset.pk)

    assert seen == [(2, 0.4), (4, 0.8), (5, 0.999)]
    positions = [json.loads(line)["position"] for line in stored_bytes(built).splitlines()]
    assert positions == [0, 1, 2, 3, 4]
    assert built.progress == 1.0
