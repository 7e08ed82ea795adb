"""JSONL datasets read by Hugging Face `datasets` (`load_dataset("json", data_files=...)`), at
any size and mix of label kinds.

`datasets` types every field from the first chunk of a file (10 MB by default) and casts
every later chunk to those types; a field that is null, or an empty list, on every line of
the first chunk cannot take a value later (huggingface/datasets#7222). `chunksize=1` makes
every line a chunk of its own, so the first line's types must hold for all the others: what
a file of any size needs, whatever its first 10 MB happen to hold.
"""

import json

import datasets
import pytest
from django.core.files.storage import default_storage

from annotator.models import Label, Task
from annotator.services.datasets import dataset_build, dataset_create
from annotator.snippet_kind import validate_result
from tests.annotator.labelling import event_label, ingest_clip, snippet_label

pytestmark = pytest.mark.django_db

EVENT_VERDICTS = ("confirm", "correct", "reject", "missed")


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Local files only: nothing is fetched from the Hub."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    datasets.disable_progress_bars()


def events(store, associate) -> None:
    labels = [
        event_label(store=store, associate=associate, verdict=verdict, final_sku="SKU-0003")
        for verdict in EVENT_VERDICTS
    ]
    # A time on a whole second, which Arrow would read as a timestamp were it written so.
    whole = labels[0].created_at.replace(microsecond=0)
    Label.objects.filter(pk=labels[0].pk).update(created_at=whole)


def snippets(store, associate) -> list[list[dict]]:
    """Two annotated clips (one with boxes, one `none` without) and their boxes as submitted."""
    snippet, clip = ingest_clip(store, external_id="clip-hf", reuse_redaction=True)
    geometry = {"width": clip.width, "height": clip.height, "frame_count": clip.frame_count}
    drawn = [{k: b[k] for k in ("frame", "label", "x", "y", "w", "h")} for b in clip.boxes if b["frame"] in {2, 9}]
    boxes = validate_result(Task(store=store, payload=geometry), {"action": "take", "sku": "SKU-0002", "boxes": drawn})
    snippet_label(store=store, associate=associate, snippet=snippet, boxes=boxes["boxes"], sku="SKU-0002")
    empty, _ = ingest_clip(store, external_id="clip-hf-none", scene="none", reuse_redaction=True)
    snippet_label(store=store, associate=associate, snippet=empty, boxes=[], action="none", sku=None)
    return [boxes["boxes"], []]


def built_file(by, tmp_path, **filters):
    dataset = dataset_build(dataset_id=dataset_create(name="hf", format="jsonl", filters=filters, by=by).pk)
    assert dataset.status == "ready", dataset.error
    path = tmp_path / f"{dataset.pk}.jsonl"
    with default_storage.open(dataset.file.name, "rb") as f:
        path.write_bytes(f.read())
    return dataset, path


def load(path, tmp_path, **config) -> datasets.Dataset:
    return datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf-cache"), **config
    )


@pytest.mark.parametrize("events_first", [True, False], ids=["events-first", "snippets-first"])
@pytest.mark.parametrize("chunksize", [1, 10 << 20], ids=["line-per-chunk", "default-chunks"])
def test_a_mixed_jsonl_loads_in_hugging_face_datasets(s001, alice, carol, tmp_path, events_first, chunksize):
    if events_first:
        events(s001, alice)
        drawn = snippets(s001, alice)
    else:
        drawn = snippets(s001, alice)
        events(s001, alice)
    dataset, path = built_file(carol, tmp_path)

    loaded = load(path, tmp_path, chunksize=chunksize)

    assert loaded.num_rows == dataset.items == 6
    assert loaded["position"] == list(range(6))
    features = loaded.features
    assert features["quantity"] == datasets.Value("int64")
    assert features["sku"] == features["boxes"] == datasets.Value("string")
    assert features["frames"] == datasets.List(datasets.Value("int64"))
    assert features["predicted"]["confidence"] == datasets.Value("float64")
    assert features["snippet"]["fps"] == datasets.Value("float64")
    assert features["provenance"]["occurred_at"] == features["labelled_at"] == datasets.Value("string")

    kinds = loaded["kind"]
    assert kinds.count("visit_event") == 4 and kinds.count("snippet") == 2
    rows = list(loaded)
    by_verdict = {row["verdict"]: row for row in rows if row["kind"] == "visit_event"}
    assert set(by_verdict) == set(EVENT_VERDICTS)
    assert by_verdict["correct"]["sku"] == "SKU-0003" and by_verdict["correct"]["predicted"]["sku"] == "SKU-0001"
    assert by_verdict["confirm"]["predicted"]["confidence"] == pytest.approx(0.62)
    assert by_verdict["reject"]["sku"] == "" and by_verdict["reject"]["quantity"] == 0
    assert by_verdict["missed"]["predicted"]["confidence"] == 0.0
    snippet_rows = [row for row in rows if row["kind"] == "snippet"]
    assert [json.loads(row["boxes"]) for row in snippet_rows] == drawn
    assert [row["action"] for row in snippet_rows] == ["take", "none"]
    assert [row["sku"] for row in snippet_rows] == ["SKU-0002", ""]
    first, last = min(b["frame"] for b in drawn[0]), max(b["frame"] for b in drawn[0])
    assert snippet_rows[0]["frames"] == [first, last]
    assert snippet_rows[0]["snippet"]["width"] > 0 and snippet_rows[0]["snippet"]["fps"] > 0
    assert all(row["snippet"]["id"] == "" and row["frames"] == [-1, -1] for row in by_verdict.values())


def test_the_boxes_text_decodes_as_a_json_feature(s001, alice, carol, tmp_path):
    drawn = snippets(s001, alice)
    _, path = built_file(carol, tmp_path, kinds=["snippet"])

    loaded = load(path, tmp_path, chunksize=1).cast_column("boxes", datasets.Json())

    assert [row["boxes"] for row in loaded] == drawn


def test_a_file_of_one_kind_loads_on_its_own(s001, alice, carol, tmp_path):
    events(s001, alice)
    snippets(s001, alice)
    _, path = built_file(carol, tmp_path, kinds=["visit_event"])

    loaded = load(path, tmp_path, chunksize=1)

    assert loaded.num_rows == 4 and set(loaded["kind"]) == {"visit_event"}
