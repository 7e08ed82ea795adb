"""The COCO zip read by Datumaro's COCO importer, as CVAT's "COCO 1.0" exports are (datumaro
is pinned in requirements-dev.txt)."""

import io
import zipfile

import datumaro as dm
import pytest

from tests.annotator.labelling import ingest_clip, snippet_label
from tests.annotator.test_export_formats import build

pytestmark = pytest.mark.django_db


def test_datumaro_detects_and_imports_the_coco_zip(s001, alice, carol, tmp_path):
    drawn = {}
    for external_id, action in (("clip-dm", "take"), ("clip-dm-unsure", "unsure")):
        snippet, clip = ingest_clip(s001, external_id=external_id, reuse_redaction=True)
        boxes = [{k: b[k] for k in ("frame", "label", "x", "y", "w", "h")} for b in clip.boxes[:4]]
        snippet_label(store=s001, associate=alice, snippet=snippet, boxes=boxes, sku="SKU-0002", action=action)
        drawn[action] = boxes
    dataset, data = build("coco", carol)
    root = tmp_path / "coco"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(root)

    assert dm.Environment().detect_dataset(str(root)) == ["coco_instances"]
    imported = dm.Dataset.import_from(str(root), "coco")

    assert list(imported.subsets()) == ["default"]
    assert len(imported) == dataset.manifest["counts"]["images"]
    labels = imported.categories()[dm.AnnotationType.label]
    assert [label.name for label in labels][:2] == ["hand", "product"]
    exported = sorted(
        (
            annotation.attributes["action"],
            labels[annotation.label].name,
            tuple(annotation.get_bbox()),
        )
        for item in imported
        for annotation in item.annotations
    )
    assert all(item.media.has_data for item in imported)
    expected = sorted(
        (action, "hand" if b["label"] == "hand" else "SKU-0002", (b["x"], b["y"], b["w"], b["h"]))
        for action, boxes in drawn.items()
        for b in boxes
    )
    assert exported == expected
    assert {type(a).__name__ for item in imported for a in item.annotations} == {"Bbox"}
