"""Tracks in exports: COCO and JSONL carry one box per frame a track is in (expanded by
annotator.tracks), after the label's single-frame boxes; JSONL keeps the keyframes too."""

import io
import json
import zipfile

import pytest
from django.core.files.storage import default_storage

from annotator.models import Label
from annotator.services.datasets import dataset_build, dataset_create
from tests.annotator.labelling import ingest_clip, record

pytestmark = pytest.mark.django_db

# A 2-second clip at 5 fps: frames 0..9.
HAND = {
    "label": "hand",
    "keyframes": [
        {"frame": 2, "x": 0, "y": 0, "w": 10, "h": 10, "outside": False},
        {"frame": 4, "x": 5, "y": 3, "w": 10, "h": 20, "outside": False},
        {"frame": 6, "x": 5, "y": 3, "w": 10, "h": 20, "outside": True},
        {"frame": 8, "x": 100, "y": 50, "w": 30, "h": 30, "outside": False},
    ],
}
EXPANDED = [
    {"frame": 2, "label": "hand", "x": 0, "y": 0, "w": 10, "h": 10},
    {"frame": 3, "label": "hand", "x": 3, "y": 2, "w": 10, "h": 15},  # 2.5 and 1.5 round up
    {"frame": 4, "label": "hand", "x": 5, "y": 3, "w": 10, "h": 20},
    {"frame": 5, "label": "hand", "x": 5, "y": 3, "w": 10, "h": 20},  # held up to the outside keyframe
    {"frame": 8, "label": "hand", "x": 100, "y": 50, "w": 30, "h": 30},
    {"frame": 9, "label": "hand", "x": 100, "y": 50, "w": 30, "h": 30},  # to the clip's last frame
]
SINGLE = {"frame": 0, "label": "product", "x": 1, "y": 2, "w": 3, "h": 4}


@pytest.fixture
def tracked(s001, alice):
    snippet, _ = ingest_clip(s001, external_id="tracked", seconds=2.0, fps=5, reuse_redaction=True)
    assert snippet.frame_count == 10
    human = {"action": "take", "sku": "SKU-0001", "boxes": [SINGLE], "tracks": [HAND]}
    kind = Label.Kind.SNIPPET
    return record(store=s001, associate=alice, kind=kind, verdict="annotated", human=human, snippet=snippet)


def build(fmt: str, by) -> bytes:
    dataset = dataset_build(dataset_id=dataset_create(name=f"t {fmt}", format=fmt, filters={}, by=by).pk)
    assert dataset.status == "ready", dataset.error
    with default_storage.open(dataset.file.name, "rb") as f:
        return f.read()


def test_jsonl_expands_tracks_to_a_box_per_frame_and_keeps_the_keyframes(carol, tracked):
    (row,) = [json.loads(line) for line in build("jsonl", carol).splitlines()]
    # JSON text (schema /2: an empty list would carry no type for Arrow).
    assert json.loads(row["boxes"]) == [SINGLE, *EXPANDED]
    assert json.loads(row["tracks"]) == [HAND]
    assert row["frames"] == [0, 9]


def test_coco_has_an_annotation_per_frame_of_a_track(carol, tracked):
    with zipfile.ZipFile(io.BytesIO(build("coco", carol))) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".json")]
        coco = json.loads(archive.read(name))
    frames = {image["id"]: image["frame"] for image in coco["images"]}
    assert sorted(frames.values()) == [0, 2, 3, 4, 5, 8, 9]
    hand = next(c["id"] for c in coco["categories"] if c["name"] == "hand")
    exported = sorted((frames[a["image_id"]], a["bbox"]) for a in coco["annotations"] if a["category_id"] == hand)
    assert exported == [(b["frame"], [b["x"], b["y"], b["w"], b["h"]]) for b in EXPANDED]
