"""The dataset writers as they were before the fast path (commit 509f00e), kept as a
reference: the fast writers must produce the very same bytes from the same data. Django
model values per row, `json.dumps` per line; slow but obviously right. The JSONL part
follows the fixed, null-free schema `loupe.dataset.jsonl/2` (docs/datasets.md)."""

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import math
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings

from annotator.exports.rows import snippet_tracks
from annotator.models import Dataset, DatasetItem
from annotator.tracks import track_boxes

_FIELDS = (
    "position",
    "label__id",
    "label__kind",
    "label__store__code",
    "label__created_at",
    "label__model_version",
    "label__predicted",
    "label__human",
    "label__verdict",
    "label__event_id",
    "label__associate_id",
    "label__provenance",
    "label__snippet_id",
    "label__snippet__external_id",
    "label__snippet__camera__code",
    "label__snippet__file",
    "label__snippet__container",
    "label__snippet__sha256",
    "label__snippet__fps",
    "label__snippet__width",
    "label__snippet__height",
    "label__snippet__frame_count",
    "label__checked",
    "label__source",
    "label__agreement",
)


@dataclass(frozen=True, slots=True)
class Row:
    position: int
    label: uuid.UUID
    kind: str
    store: str
    created_at: dt.datetime
    model_version: str
    predicted: Any
    human: Any
    verdict: str
    event_id: uuid.UUID | None
    associate_id: int
    provenance: dict
    snippet_id: uuid.UUID | None
    snippet_external_id: str | None
    snippet_camera: str | None
    snippet_file: str | None
    snippet_container: str | None
    snippet_sha256: str | None
    snippet_fps: float | None
    snippet_width: int | None
    snippet_height: int | None
    snippet_frame_count: int | None
    checked: bool
    source: str
    agreement: float | None


def dataset_rows(
    dataset: Dataset, *, batch_size: int = 5000, on_batch: Callable[[int], None] | None = None
) -> Iterator[Row]:
    """The dataset's rows by position. Positions are dense (0 … items - 1), so each batch is
    one range scan of the (dataset, position) index, whatever the table's statistics say;
    `on_batch(done)` is called after each batch has been consumed."""
    for start in range(0, dataset.items, batch_size):
        batch = (
            DatasetItem.objects.filter(dataset=dataset, position__gte=start, position__lt=start + batch_size)
            .order_by("position")
            .values_list(*_FIELDS)
        )
        for values in batch:
            yield Row(*values)
        if on_batch is not None:
            on_batch(min(start + batch_size, dataset.items))


class Pseudonyms:
    """Per-dataset pseudonyms: the first 16 hex digits of HMAC-SHA256 keyed with a secret
    derived from SECRET_KEY and the dataset id. Stable within a dataset (rows of one visit
    can be grouped), unlinkable across datasets and irreversible without SECRET_KEY."""

    _CACHE_LIMIT = 65536  # events of one visit come together; keep memory flat anyway

    def __init__(self, dataset_id: uuid.UUID):
        material = f"loupe.datasets.pseudonym:{dataset_id}:{settings.SECRET_KEY}".encode()
        self._key = hashlib.sha256(material).digest()
        self._cache: dict[tuple[str, str], str] = {}

    def __call__(self, prefix: str, value: object) -> str | None:
        if value is None or value == "":
            return None
        key = (prefix, str(value))
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= self._CACHE_LIMIT:
                self._cache.clear()
            digest = hmac.digest(self._key, key[1].encode(), "sha256").hex()
            found = self._cache[key] = f"{prefix}_{digest[:16]}"
        return found


def iso(value: Any) -> str | None:
    """A time as ISO-8601 in UTC; strings (already ISO, from JSON provenance) pass through."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return str(value)


# What a label says. Labels are written by the task kinds (annotator.services.labels); these
# readers take only the keys the schemas name, so nothing else a label carries can leak out.

_EVENT_KEYS = ("sku", "action", "quantity")


def _pick(value: Any, keys: tuple[str, ...]) -> dict:
    return {key: value.get(key) for key in keys} if isinstance(value, dict) else dict.fromkeys(keys)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def visit_id(row: Row) -> str | None:
    provenance = row.provenance if isinstance(row.provenance, dict) else {}
    value = provenance.get("visit") or provenance.get("visit_id")
    return str(value) if value else None


def event_values(row: Row) -> dict:
    """A visit-event label as flat values: the model's event (none for a missed one), the
    human's final event (none for a rejected one), when it happened."""
    provenance = row.provenance if isinstance(row.provenance, dict) else {}
    predicted = _pick(row.predicted, (*_EVENT_KEYS, "confidence", "occurred_at"))
    if row.human is None and row.verdict == "confirm":
        final = _pick(row.predicted, _EVENT_KEYS)
    else:
        final = _pick(row.human, _EVENT_KEYS)
    occurred_at = provenance.get("occurred_at") or predicted.pop("occurred_at", None)
    predicted.pop("occurred_at", None)
    if isinstance(row.human, dict) and not occurred_at:
        occurred_at = row.human.get("occurred_at")
    predicted["confidence"] = _number(predicted["confidence"])
    return {"predicted": predicted, "final": final, "occurred_at": iso(occurred_at)}


def snippet_result(row: Row) -> dict:
    """A snippet label's human result: action, sku and boxes in clip pixels."""
    human = row.human if isinstance(row.human, dict) else {}
    boxes = []
    for box in human.get("boxes") or []:
        if not isinstance(box, dict):
            continue
        try:
            boxes.append({key: int(box[key]) for key in ("frame", "x", "y", "w", "h")} | {"label": str(box["label"])})
        except (KeyError, TypeError, ValueError):
            continue
    tracks = snippet_tracks(human.get("tracks"))
    frame_count = row.snippet_frame_count or max((k["frame"] + 1 for t in tracks for k in t["keyframes"]), default=0)
    boxes += track_boxes(tracks, frame_count)
    return {"action": human.get("action"), "sku": human.get("sku"), "boxes": boxes, "tracks": tracks}


# jsonl ---

SCHEMA = "loupe.dataset.jsonl/2"


def _dumps(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _text(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else _dumps(value)


def _int(value) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    return value if ok else 0


def _float(value) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return 0.0
    try:
        value = float(value)
    except OverflowError:
        return 0.0
    return value if math.isfinite(value) else 0.0


def _instant(value: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    except (ValueError, OverflowError):
        return value


def _frames(row: Row, boxes: list[dict]) -> list[int]:
    if boxes:
        frames = [box["frame"] for box in boxes]
        return [min(frames), max(frames)]
    if row.snippet_id is not None and row.snippet_frame_count:
        return [0, row.snippet_frame_count - 1]
    return [-1, -1]


def snippet_reference(row: Row) -> dict:
    return {
        "id": _text(None if row.snippet_id is None else str(row.snippet_id)),
        "external_id": _text(row.snippet_external_id),
        "camera": _text(row.snippet_camera),
        "container": _text(row.snippet_container),
        "sha256": _text(row.snippet_sha256),
        "fps": _float(row.snippet_fps),
        "width": _int(row.snippet_width),
        "height": _int(row.snippet_height),
        "frame_count": _int(row.snippet_frame_count),
    }


def example(row: Row, pseudonym: Pseudonyms) -> dict:
    base = {
        "schema": SCHEMA,
        "position": row.position,
        "label": str(row.label),
        "kind": row.kind,
        "store": row.store,
        "labelled_at": _instant(iso(row.created_at)),
        "model_version": _text(row.model_version),
        "verdict": _text(row.verdict),
        "checked": bool(row.checked),
        "source": _text(row.source),
        "agreement": -1.0 if row.agreement is None else _float(row.agreement),
        "snippet": snippet_reference(row),
    }
    provenance = {
        "visit": pseudonym("v", visit_id(row)) or "",
        "event": pseudonym("e", row.event_id) or "",
        "associate": pseudonym("a", row.associate_id) or "",
    }
    if row.kind == "visit_event":
        values = event_values(row)
        final, predicted = values["final"], values["predicted"]
        return base | {
            "frames": _frames(row, []),
            "action": _text(final["action"]),
            "sku": _text(final["sku"]),
            "quantity": _int(final["quantity"]),
            "boxes": "[]",
            "tracks": "[]",
            "predicted": {
                "action": _text(predicted["action"]),
                "sku": _text(predicted["sku"]),
                "quantity": _int(predicted["quantity"]),
                "confidence": _float(predicted["confidence"]),
                "boxes": "[]",
            },
            "provenance": provenance | {"occurred_at": _instant(_text(values["occurred_at"]))},
        }
    result = snippet_result(row)
    return base | {
        "frames": _frames(row, result["boxes"]),
        "action": _text(result["action"]),
        "sku": _text(result["sku"]),
        "quantity": 0,
        "boxes": _dumps(result["boxes"]),
        "tracks": _dumps(result["tracks"]),
        "predicted": {
            "action": "",
            "sku": "",
            "quantity": 0,
            "confidence": 0.0,
            "boxes": _predicted_boxes(row.predicted),
        },
        "provenance": provenance | {"occurred_at": ""},
    }


def _predicted_boxes(predicted) -> str:
    """The model's boxes on a snippet (as the intake stored them), keys limited to the schema."""
    if not isinstance(predicted, list):
        return "[]"
    keys = ("frame", "label", "sku", "box", "score")
    return _dumps([{key: p.get(key) for key in keys} for p in predicted if isinstance(p, dict)])


def write_jsonl(*, rows: Iterable[Row], out: IO[bytes], pseudonym: Pseudonyms, **_) -> dict:
    counts: dict[str, int] = {}
    lines: list[bytes] = []
    for row in rows:
        line = json.dumps(example(row, pseudonym), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        lines.append(line.encode() + b"\n")
        counts[row.kind] = counts.get(row.kind, 0) + 1
        if len(lines) >= 1000:
            out.write(b"".join(lines))
            lines.clear()
    out.write(b"".join(lines))
    return {"rows": sum(counts.values()), "kinds": dict(sorted(counts.items()))}


# csv ---

COLUMNS = (
    "label",
    "position",
    "visit",
    "event",
    "store",
    "occurred_at",
    "labelled_at",
    "model_version",
    "predicted_sku",
    "predicted_action",
    "predicted_quantity",
    "predicted_confidence",
    "verdict",
    "final_sku",
    "final_action",
    "final_quantity",
    "snippet",
    "checked",
    "source",
    "agreement",
)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r", "'")):
        return "'" + value  # added with the formula escape: text a spreadsheet would run
    return str(value)


def csv_row(row: Row, pseudonym: Pseudonyms) -> list[str]:
    values = event_values(row)
    predicted, final = values["predicted"], values["final"]
    cells = (
        row.label,
        row.position,
        pseudonym("v", visit_id(row)),
        pseudonym("e", row.event_id),
        row.store,
        values["occurred_at"],
        iso(row.created_at),
        row.model_version,
        predicted["sku"],
        predicted["action"],
        predicted["quantity"],
        predicted["confidence"],
        row.verdict,
        final["sku"],
        final["action"],
        final["quantity"],
        row.snippet_id,
        "true" if row.checked else "false",
        row.source,
        row.agreement,
    )
    return [_cell(value) for value in cells]


def write_csv(*, rows: Iterable[Row], out: IO[bytes], pseudonym: Pseudonyms, **_) -> dict:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        if row.kind != "visit_event":
            continue
        writer.writerow(csv_row(row, pseudonym))
        count += 1
    text.flush()
    text.detach()
    return {"rows": count, "kinds": {"visit_event": count}}
