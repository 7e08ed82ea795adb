"""`coco`: a zip in the layout CVAT's "COCO 1.0" export has and Datumaro's COCO importer
detects: `annotations/instances_default.json` (COCO object detection) and the annotated
frames of each snippet label as JPEG images under `images/default/` (docs/datasets.md).

Images go into the zip as they are decoded; their `images` and `annotations` entries are
spooled to temporary files and the annotation file is streamed in last, so memory stays flat
whatever the size. Every zip entry has the same fixed timestamp and mode.
"""

import json
import shutil
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from typing import IO

from annotator.exports.frames import MissingMedia, jpeg, local_video, stills
from annotator.exports.rows import Row, iso, snippet_result
from annotator.models import Dataset
from catalog.models import Product

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
HAND, PRODUCT = 1, 2
SUBSET = "default"
ANNOTATIONS = f"annotations/instances_{SUBSET}.json"
IMAGES = f"images/{SUBSET}/"
_ZIP64_THRESHOLD = 1 << 30


def _entry(name: str, *, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    info.create_system = 3
    return info


def _json(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def category_id(product_id: int) -> int:
    """A catalog product's category id: its stored id past the two fixed categories, so a
    product keeps its id in every dataset of its store, whatever else the catalog gains."""
    return PRODUCT + product_id


def categories(dataset: Dataset) -> list[dict]:
    """`hand`, `product` (a product box whose sku is unknown), then one per sku of the
    dataset's stores' catalogs, by id. A sku sold in several of the dataset's stores takes
    the id of its oldest product row (the smallest)."""
    result = [
        {"id": HAND, "name": "hand", "supercategory": "hand"},
        {"id": PRODUCT, "name": "product", "supercategory": "product"},
    ]
    first: dict[str, int] = {}
    for pk, sku in Product.objects.filter(store__in=dataset.stores.all()).order_by("pk").values_list("pk", "sku"):
        first.setdefault(sku, pk)
    result += [{"id": category_id(pk), "name": sku, "supercategory": "product"} for sku, pk in first.items()]
    return result


def write_coco(*, dataset: Dataset, rows: Iterable[Row], out: IO[bytes], **_) -> dict:
    cats = categories(dataset)
    by_sku = {c["name"]: c["id"] for c in cats if c["id"] > PRODUCT}
    counts = {"rows": 0, "images": 0, "annotations": 0, "labels_without_boxes": 0}
    with (
        tempfile.TemporaryFile(prefix="loupe-coco-images-") as images,
        tempfile.TemporaryFile(prefix="loupe-coco-annotations-") as annotations,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        # The folder is there even when no label has boxes: importers look for it.
        folder = _entry(IMAGES, compress=zipfile.ZIP_STORED)
        folder.external_attr = (0o40755 << 16) | 0x10  # a directory (Unix mode, MS-DOS flag)
        archive.writestr(folder, b"")
        for row in rows:
            if row.kind != "snippet":
                continue
            counts["rows"] += 1
            result = snippet_result(row)
            by_frame: dict[int, list[dict]] = defaultdict(list)
            for box in result["boxes"]:
                by_frame[box["frame"]].append(box)
            if not by_frame:
                counts["labels_without_boxes"] += 1
                continue
            product_category = by_sku.get(result["sku"] if isinstance(result["sku"], str) else "", PRODUCT)
            attributes = {"action": result["action"] if isinstance(result["action"], str) else None}
            if row.agreement is not None:  # a consensus or adjudication label
                attributes["agreement"] = row.agreement
            try:
                with local_video(row.snippet_file or "") as path:
                    for frame, image in stills(path, row.snippet_container or "", list(by_frame), fps=row.snippet_fps):
                        counts["images"] += 1
                        image_id = counts["images"]
                        file_name = f"{row.position:08d}_{frame:06d}.jpg"
                        archive.writestr(_entry(IMAGES + file_name, compress=zipfile.ZIP_STORED), jpeg(image))
                        entry = {
                            "id": image_id,
                            "file_name": file_name,
                            "width": image.width,
                            "height": image.height,
                            "frame": frame,
                            "snippet": str(row.snippet_id),
                            "label": str(row.label),
                            "store": row.store,
                            "labelled_at": row.labelled_at,
                        }
                        images.write((b"," if image_id > 1 else b"") + _json(entry))
                        for box in by_frame[frame]:
                            counts["annotations"] += 1
                            x, y, w, h = box["x"], box["y"], box["w"], box["h"]
                            annotation = {
                                "id": counts["annotations"],
                                "image_id": image_id,
                                "category_id": HAND if box["label"] == "hand" else product_category,
                                "bbox": [x, y, w, h],
                                "area": w * h,
                                "iscrowd": 0,
                                "segmentation": [],  # a plain box, as CVAT writes it
                                "attributes": attributes,
                            }
                            annotations.write((b"," if counts["annotations"] > 1 else b"") + _json(annotation))
            except MissingMedia as exc:
                raise MissingMedia(f"Snippet {row.store}/{row.snippet_external_id}: {exc}.") from exc
        info = {
            "contributor": "Loupe",
            "date_created": iso(dataset.created_at),
            "description": dataset.name,
            "url": "",
            "version": str(dataset.pk),
            "year": dataset.created_at.year,
        }
        large = images.tell() + annotations.tell() > _ZIP64_THRESHOLD
        with archive.open(_entry(ANNOTATIONS, compress=zipfile.ZIP_DEFLATED), "w", force_zip64=large) as target:
            target.write(b'{"annotations":[')
            annotations.seek(0)
            shutil.copyfileobj(annotations, target, 1024 * 1024)
            target.write(b'],"categories":' + _json(cats) + b',"images":[')
            images.seek(0)
            shutil.copyfileobj(images, target, 1024 * 1024)
            target.write(b'],"info":' + _json(info) + b',"licenses":[]}')
    counts["categories"] = len(cats)
    return counts
