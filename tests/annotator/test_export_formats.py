"""Every export read back by the tools people use: pycocotools for COCO (COCO, COCOeval),
the standard library for JSONL and CSV, PyAV for frame accuracy. Hugging Face datasets and
Datumaro have their own modules (test_export_huggingface.py, test_export_datumaro.py)."""

import contextlib
import csv
import io
import json
import re
import uuid
import zipfile
from pathlib import Path

import av
import pytest
from django.core.files.storage import default_storage
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from annotator.exports.csv_rows import COLUMNS
from annotator.exports.frames import jpeg
from annotator.models import Dataset, Snippet, Task
from annotator.services.datasets import dataset_build, dataset_create
from annotator.snippet_kind import validate_result
from tests.annotator.labelling import SHOPPER, event_label, ingest_clip, snippet_label
from tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")]

PSEUDONYM = {prefix: re.compile(rf"^{prefix}_[0-9a-f]{{16}}$") for prefix in ("v", "e", "a")}
JSONL_KEYS = {
    "action",
    "boxes",
    "tracks",
    "agreement",
    "checked",
    "frames",
    "kind",
    "label",
    "labelled_at",
    "model_version",
    "position",
    "predicted",
    "provenance",
    "quantity",
    "schema",
    "source",
    "sku",
    "snippet",
    "store",
    "verdict",
}
SNIPPET_KEYS = {"id", "external_id", "camera", "container", "sha256", "fps", "width", "height", "frame_count"}


@pytest.fixture
def visits(s001, alice):
    """Two visits' events with every verdict; returns the visit ids."""
    first, second = uuid.uuid4(), uuid.uuid4()
    event_label(store=s001, associate=alice, visit_id=first, verdict="confirm")
    event_label(store=s001, associate=alice, visit_id=first, verdict="correct", final_sku="SKU-0003")
    event_label(store=s001, associate=alice, visit_id=second, verdict="reject", confidence=0.31)
    event_label(store=s001, associate=alice, visit_id=second, verdict="missed", sku="SKU-0002", action="put_back")
    return [first, second]


def workbench_result(task_like, clip, frames) -> dict:
    """Boxes as the workbench submits them, cleaned by the kind's own validator."""
    boxes = [{k: b[k] for k in ("frame", "label", "x", "y", "w", "h")} for b in clip.boxes if b["frame"] in frames]
    return validate_result(task_like, {"action": "take", "sku": "SKU-0002", "boxes": boxes})


@pytest.fixture
def annotated(s001, alice):
    """Two real clips (H.264/MP4 and VP9/WebM) annotated at several frames."""
    result = []
    for external_id, codec, frames in (("clip-mp4", "h264", {3, 4, 17, 25}), ("clip-webm", "vp9", {0, 14, 29})):
        snippet, clip = ingest_clip(
            s001, external_id=external_id, codec=codec, seconds=2.0, seed=len(result), reuse_redaction=True
        )
        geometry = {"width": clip.width, "height": clip.height, "frame_count": clip.frame_count}
        task_like = Task(store=s001, payload=geometry)
        human = workbench_result(task_like, clip, frames)
        label = snippet_label(store=s001, associate=alice, snippet=snippet, boxes=human["boxes"], sku=human["sku"])
        result.append((snippet, clip, label, human))
    return result


def build(fmt: str, by, **filters) -> tuple[Dataset, bytes]:
    dataset = dataset_build(dataset_id=dataset_create(name=f"t {fmt}", format=fmt, filters=filters, by=by).pk)
    assert dataset.status == "ready", dataset.error
    with default_storage.open(dataset.file.name, "rb") as f:
        return dataset, f.read()


def assert_private(data: bytes, visit_ids) -> None:
    assert SHOPPER.encode() not in data
    for visit_id in visit_ids:
        assert str(visit_id).encode() not in data
        assert visit_id.hex.encode() not in data


def shape(value) -> object:
    """A JSON value's shape: key names and JSON types, all the way down."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return ["list", *sorted({repr(shape(item)) for item in value})]
    return type(value).__name__


def test_jsonl_rows_follow_the_schema(s001, carol, visits, annotated):
    dataset, data = build("jsonl", carol)
    lines = data.decode("utf-8").splitlines()
    assert len(lines) == dataset.items == 6
    rows = [json.loads(line) for line in lines]
    # One schema on every line: the same keys with the same types, no nulls anywhere.
    assert len({repr(shape(row)) for row in rows}) == 1
    assert "None" not in repr(shape(rows[0]))
    for position, row in enumerate(rows):
        assert set(row) == JSONL_KEYS
        assert row["schema"] == "loupe.dataset.jsonl/2"
        assert row["position"] == position
        assert row["store"] == "S001"
        assert row["model_version"] == "model-7"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", row["labelled_at"])
        assert row["kind"] in ("visit_event", "snippet")
        assert set(row["provenance"]) == {"visit", "event", "associate", "occurred_at"}
        assert set(row["snippet"]) == SNIPPET_KEYS
        assert set(row["predicted"]) == {"action", "sku", "quantity", "confidence", "boxes"}
        assert PSEUDONYM["a"].match(row["provenance"]["associate"])
        boxes = json.loads(row["boxes"])
        if row["kind"] == "snippet":
            assert row["verdict"] == "annotated"
            assert row["provenance"]["visit"] == "" and row["quantity"] == 0
            assert row["frames"] == [min(b["frame"] for b in boxes), max(b["frame"] for b in boxes)]
            for box in boxes:
                assert set(box) == {"frame", "label", "x", "y", "w", "h"}
                assert box["label"] in ("hand", "product")
            for box in json.loads(row["predicted"]["boxes"]):
                assert set(box) == {"frame", "label", "sku", "box", "score"}
        else:
            assert PSEUDONYM["v"].match(row["provenance"]["visit"])
            assert row["provenance"]["occurred_at"] == "2026-05-01T10:00:00.000000Z"
            assert row["snippet"]["id"] == "" and row["frames"] == [-1, -1] and boxes == []
            assert row["predicted"]["boxes"] == "[]"
    by_verdict = {row["verdict"]: row for row in rows if row["kind"] == "visit_event"}
    assert by_verdict["confirm"]["sku"] == "SKU-0001" and by_verdict["confirm"]["predicted"]["confidence"] == 0.62
    assert by_verdict["correct"]["sku"] == "SKU-0003" and by_verdict["correct"]["predicted"]["sku"] == "SKU-0001"
    assert by_verdict["reject"]["sku"] == by_verdict["reject"]["action"] == "" and by_verdict["reject"]["quantity"] == 0
    assert by_verdict["missed"]["predicted"] == {
        "action": "",
        "sku": "",
        "quantity": 0,
        "confidence": 0.0,
        "boxes": "[]",
    }
    assert by_verdict["missed"]["provenance"]["event"] == ""
    assert by_verdict["missed"]["action"] == "put_back"
    # Events of one visit share a pseudonym; the two visits differ.
    pseudonyms = [by_verdict[v]["provenance"]["visit"] for v in ("confirm", "correct", "reject", "missed")]
    assert pseudonyms[0] == pseudonyms[1] != pseudonyms[2] == pseudonyms[3]
    assert_private(data, visits)


def test_csv_has_one_row_per_validated_event(s001, carol, visits, annotated):
    dataset, data = build("csv", carol)
    assert data.startswith(b"label,position,visit,")
    reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
    assert tuple(reader.fieldnames) == COLUMNS
    rows = list(reader)
    assert len(rows) == dataset.items == 4  # the snippet labels are not events
    for position, row in enumerate(rows):
        assert int(row["position"]) == position
        uuid.UUID(row["label"])
        assert PSEUDONYM["v"].match(row["visit"])
        assert row["store"] == "S001"
        assert row["occurred_at"] == "2026-05-01T10:00:00+00:00"
        assert row["labelled_at"].endswith("Z")
        assert row["verdict"] in ("confirm", "correct", "reject", "missed")
        assert row["model_version"] == "model-7"
        if row["verdict"] == "missed":
            assert row["event"] == row["predicted_sku"] == row["predicted_confidence"] == ""
        else:
            assert PSEUDONYM["e"].match(row["event"])
            assert 0 <= float(row["predicted_confidence"]) <= 1
            assert row["predicted_action"] in ("take", "put_back")
        if row["verdict"] == "reject":
            assert row["final_sku"] == row["final_action"] == row["final_quantity"] == ""
        else:
            assert row["final_action"] in ("take", "put_back") and int(row["final_quantity"]) >= 1
    assert [r["final_sku"] for r in rows] == ["SKU-0001", "SKU-0003", "", "SKU-0002"]
    assert_private(data, visits)


def decode_sequentially(clip_bytes: bytes, container: str, frame: int) -> Image.Image:
    with av.open(io.BytesIO(clip_bytes), format={"mp4": "mov", "webm": "matroska"}[container]) as source:
        for index, decoded in enumerate(source.decode(video=0)):
            if index == frame:
                return decoded.to_image()
    raise AssertionError(f"no frame {frame}")


def extract(data: bytes, root: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
        archive.extractall(root)
    return root


def test_coco_loads_in_pycocotools_with_every_image_present_and_boxes_unchanged(s001, carol, tmp_path, annotated):
    dataset, data = build("coco", carol)
    root = extract(data, tmp_path / "coco")
    # CVAT's "COCO 1.0" layout: what Datumaro's COCO importer detects.
    assert (root / "annotations" / "instances_default.json").is_file()
    assert not (root / "annotations.json").exists()
    images_dir = root / "images" / "default"

    coco = COCO(str(root / "annotations" / "instances_default.json"))

    expected_images = sum(len({b["frame"] for b in human["boxes"]}) for *_, human in annotated)
    assert len(coco.getImgIds()) == expected_images == dataset.manifest["counts"]["images"]
    assert sorted(p.name for p in images_dir.iterdir()) == sorted(img["file_name"] for img in coco.dataset["images"])
    assert len(coco.getAnnIds()) == sum(len(human["boxes"]) for *_, human in annotated)
    names = {c["name"] for c in coco.loadCats(coco.getCatIds())}
    assert {"hand", "product", "SKU-0001", "SKU-0005"} <= names
    hand = coco.getCatIds(catNms=["hand"])[0]
    sku = coco.getCatIds(catNms=["SKU-0002"])[0]
    for snippet, clip, label, human in annotated:
        images = [img for img in coco.loadImgs(coco.getImgIds()) if img["label"] == str(label.id)]
        assert sorted(img["frame"] for img in images) == sorted({b["frame"] for b in human["boxes"]})
        for img in images:
            path = images_dir / img["file_name"]
            assert path.is_file()
            with Image.open(path) as picture:
                assert picture.size == (img["width"], img["height"]) == (clip.width, clip.height)
            # Frame-accurate: the very frame a sequential decode of the stored (redacted) clip
            # reaches, encoded the same way.
            with default_storage.open(snippet.file.name, "rb") as f:
                stored = f.read()
            assert path.read_bytes() == jpeg(decode_sequentially(stored, snippet.container, img["frame"]))
            drawn = sorted(
                ([b["x"], b["y"], b["w"], b["h"]], hand if b["label"] == "hand" else sku)
                for b in human["boxes"]
                if b["frame"] == img["frame"]
            )
            exported = sorted((a["bbox"], a["category_id"]) for a in coco.loadAnns(coco.getAnnIds(imgIds=img["id"])))
            assert exported == drawn
            for a in coco.loadAnns(coco.getAnnIds(imgIds=img["id"])):
                assert a["area"] == a["bbox"][2] * a["bbox"][3] and a["iscrowd"] == 0
                # A plain box: no polygon, as CVAT exports boxes; the label's action kept.
                assert a["segmentation"] == []
                assert a["attributes"] == {"action": "take"}
    assert SHOPPER.encode() not in (root / "annotations" / "instances_default.json").read_bytes()


def test_coco_evaluates_with_cocoeval_on_boxes(s001, carol, tmp_path, annotated):
    """A model's detections scored against the export the way training code does: the
    ground truth itself as detections scores a bbox AP of 1."""
    _, data = build("coco", carol)
    truth = COCO(str(extract(data, tmp_path) / "annotations" / "instances_default.json"))
    detections = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
        for a in truth.loadAnns(truth.getAnnIds())
    ]
    evaluation = COCOeval(truth, truth.loadRes(detections), iouType="bbox")
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


def test_coco_categories_keep_their_ids_across_datasets_of_a_store(s001, alice, carol, tmp_path):
    snippet, clip = ingest_clip(s001, external_id="clip-ids", reuse_redaction=True)
    boxes = [{k: b[k] for k in ("frame", "label", "x", "y", "w", "h")} for b in clip.boxes[:4]]
    snippet_label(store=s001, associate=alice, snippet=snippet, boxes=boxes, sku="SKU-0003")
    _, before = build("coco", carol)
    # The catalog gains products sorting before and between the others.
    ProductFactory(store=s001, sku="SKU-0000", name="new first", price_minor=1)
    ProductFactory(store=s001, sku="SKU-0002a", name="new between", price_minor=1)
    _, after = build("coco", carol)

    first = COCO(str(extract(before, tmp_path / "a") / "annotations" / "instances_default.json"))
    second = COCO(str(extract(after, tmp_path / "b") / "annotations" / "instances_default.json"))

    ids = {c["name"]: c["id"] for c in first.loadCats(first.getCatIds())}
    again = {c["name"]: c["id"] for c in second.loadCats(second.getCatIds())}
    assert ids.items() <= again.items()
    assert set(again) - set(ids) == {"SKU-0000", "SKU-0002a"}
    assert len(set(again.values())) == len(again)
    assert {c["supercategory"] for c in second.loadCats(second.getCatIds()) if c["name"].startswith("SKU")} == {
        "product"
    }
    for coco in (first, second):
        products = coco.loadAnns(coco.getAnnIds(catIds=coco.getCatIds(catNms=["SKU-0003"])))
        assert products and all(a["category_id"] == ids["SKU-0003"] for a in products)


def test_coco_keeps_the_action_so_unsure_boxes_can_be_filtered(s001, alice, carol, tmp_path):
    for external_id, action in (("clip-sure", "take"), ("clip-unsure", "unsure")):
        snippet, clip = ingest_clip(s001, external_id=external_id, reuse_redaction=True)
        boxes = [{k: b[k] for k in ("frame", "label", "x", "y", "w", "h")} for b in clip.boxes[:3]]
        snippet_label(store=s001, associate=alice, snippet=snippet, boxes=boxes, action=action)
    _, data = build("coco", carol)
    coco = COCO(str(extract(data, tmp_path) / "annotations" / "instances_default.json"))

    anns = coco.loadAnns(coco.getAnnIds())
    unsure = [a for a in anns if a["attributes"]["action"] == "unsure"]
    assert len(anns) == 6 and len(unsure) == 3
    unsure_images = {img["id"] for img in coco.loadImgs({a["image_id"] for a in unsure})}
    assert {img["snippet"] for img in coco.loadImgs(list(unsure_images))} == {
        str(Snippet.objects.get(external_id="clip-unsure").pk)
    }


def test_exports_never_carry_shopper_tokens_and_pseudonyms_differ_per_dataset(s001, carol, visits, annotated):
    _, first_data = build("jsonl", carol)
    _, second_data = build("jsonl", carol)
    _, coco_data = build("coco", carol)
    for data in (first_data, second_data):
        assert_private(data, visits)
    with zipfile.ZipFile(io.BytesIO(coco_data)) as archive:
        for name in archive.namelist():
            assert SHOPPER.encode() not in archive.read(name)

    def visit_pseudonyms(data: bytes) -> set[str]:
        return {json.loads(line)["provenance"]["visit"] for line in data.splitlines()} - {""}

    assert len(visit_pseudonyms(first_data)) == 2
    assert not visit_pseudonyms(first_data) & visit_pseudonyms(second_data)


def test_a_coco_dataset_of_labels_without_boxes_is_a_valid_empty_coco(s001, alice, carol, tmp_path):
    snippet, _ = ingest_clip(s001, external_id="clip-empty", scene="none", reuse_redaction=True)
    snippet_label(store=s001, associate=alice, snippet=snippet, boxes=[], action="none", sku=None)
    dataset, data = build("coco", carol)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["images/default/", "annotations/instances_default.json"]
    coco = COCO(str(extract(data, Path(tmp_path)) / "annotations" / "instances_default.json"))
    assert coco.getImgIds() == [] and dataset.manifest["counts"]["labels_without_boxes"] == 1
