"""`jsonl`: one training example per line, for both kinds of label (docs/datasets.md).

Every line has the same keys with the same JSON types, and no nulls: a tool that infers a
schema from the first lines (Hugging Face `datasets` types every field from the file's first
10 MB and casts the rest to that) must never meet a field it typed `null`, or an empty list,
that a later line fills. So absent values are the empty value of their type (`""`, `0`,
`0.0`, `[-1, -1]`), floats are always written as floats, nested objects have one shape, and
the two lists whose length varies (boxes) are JSON text. Times always carry microseconds
(`2026-05-01T10:00:00.000000Z`): Arrow reads a time without a fraction as a timestamp, so a
file starting with whole seconds would refuse the first time that has one, or none.

Lines are written by orjson (sorted keys, compact), which gives byte for byte what
`json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` gives for every value
but floats below 1e-4 (`1e-05` vs `0.00001`). A line holding one of those (rare: the schema's
floats are confidences and frame rates) is written by the standard library instead, so the
bytes never depend on which one wrote them. The JSON text inside a line is always the
standard library's.
"""

import datetime as dt
import json
import math
from collections.abc import Iterable
from typing import IO, Any

import orjson

from annotator.exports.rows import (
    Pseudonyms,
    Row,
    event_values,
    orjson_plain,
    snippet_result,
    visit_id,
)

SCHEMA = "loupe.dataset.jsonl/2"
_SORTED = orjson.OPT_SORT_KEYS
_STDLIB = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_FLUSH_BYTES = 1 << 20
_INT64 = 1 << 63
NO_FRAMES = [-1, -1]
NO_AGREEMENT = -1.0
PREDICTED_BOX_KEYS = ("frame", "label", "sku", "box", "score")


def text(value: Any) -> str:
    """A string field: strings as they are, `""` for none, any other JSON value as its text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return _STDLIB.encode(value)


def integer(value: Any) -> int:
    """An integer field (64-bit, as Arrow holds it): 0 for none or anything else."""
    if isinstance(value, int) and not isinstance(value, bool) and -_INT64 <= value < _INT64:
        return value
    return 0


def real(value: Any) -> float:
    """A float field: always a float (never `1` for `1.0`), 0.0 for none or not finite."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            return 0.0
        if math.isfinite(number):
            return number
    return 0.0


def instant(value: str) -> str:
    """A time as UTC with microseconds (`…T10:00:00.000000Z`); a naive time is taken as UTC,
    text that is no ISO-8601 time (or none UTC can hold) passes as it is."""
    try:
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return value
    return moment.isoformat(timespec="microseconds") + "Z"


def _labelled_at(value: str) -> str:
    # `dataset_rows` gives isoformat's text, which leaves out zero microseconds.
    return value if "." in value else value[:-1] + ".000000Z"


def _frames(row: Row, boxes: list[dict]) -> list[int]:
    if boxes:
        frames = [box["frame"] for box in boxes]
        return [min(frames), max(frames)]
    if row.snippet_id is not None and row.snippet_frame_count:
        return [0, row.snippet_frame_count - 1]
    return NO_FRAMES


def _snippet(row: Row) -> dict:
    return {
        "id": text(row.snippet_id),
        "external_id": text(row.snippet_external_id),
        "camera": text(row.snippet_camera),
        "container": text(row.snippet_container),
        "sha256": text(row.snippet_sha256),
        "fps": real(row.snippet_fps),
        "width": integer(row.snippet_width),
        "height": integer(row.snippet_height),
        "frame_count": integer(row.snippet_frame_count),
    }


def _predicted_boxes(predicted: Any) -> str:
    """The model's boxes on a snippet (as the intake stored them), keys limited to the schema,
    as JSON text."""
    if not isinstance(predicted, list):
        return "[]"
    return _STDLIB.encode([{key: p.get(key) for key in PREDICTED_BOX_KEYS} for p in predicted if isinstance(p, dict)])


def example(row: Row, pseudonym: Pseudonyms) -> tuple[dict, bool]:
    """The row's line as a dict, and whether orjson may write it (`orjson_plain`)."""
    snippet = _snippet(row)
    value = {
        "schema": SCHEMA,
        "position": row.position,
        "label": row.label,
        "kind": row.kind,
        "store": row.store,
        "labelled_at": _labelled_at(row.labelled_at),
        "model_version": text(row.model_version),
        "verdict": text(row.verdict),
        "checked": bool(row.checked),
        "source": text(row.source),
        # Consensus and adjudication labels (0–1); -1.0 for a label of one person's answer.
        "agreement": NO_AGREEMENT if row.agreement is None else real(row.agreement),
        "snippet": snippet,
    }
    provenance = {
        "visit": pseudonym("v", visit_id(row)) or "",
        "event": pseudonym.once("e", row.event_id) or "",
        "associate": pseudonym("a", row.associate_id) or "",
    }
    if row.kind == "visit_event":
        values = event_values(row)
        final, said = values["final"], values["predicted"]
        predicted = {
            "action": text(said["action"]),
            "sku": text(said["sku"]),
            "quantity": integer(said["quantity"]),
            "confidence": real(said["confidence"]),
            "boxes": "[]",
        }
        provenance["occurred_at"] = instant(text(values["occurred_at"]))
        value["frames"] = _frames(row, [])
        value["action"], value["sku"], value["quantity"] = (
            text(final["action"]),
            text(final["sku"]),
            integer(final["quantity"]),
        )
        value["boxes"] = "[]"
        value["tracks"] = "[]"
    else:
        result = snippet_result(row)
        predicted = {
            "action": "",
            "sku": "",
            "quantity": 0,
            "confidence": 0.0,
            "boxes": _predicted_boxes(row.predicted),
        }
        provenance["occurred_at"] = ""
        value["frames"] = _frames(row, result["boxes"])
        value["action"], value["sku"], value["quantity"] = text(result["action"]), text(result["sku"]), 0
        value["boxes"] = _STDLIB.encode(result["boxes"])  # tracks included, one box per frame
        value["tracks"] = _STDLIB.encode(result["tracks"])  # and their keyframes, as drawn
    value["predicted"] = predicted
    value["provenance"] = provenance
    plain = orjson_plain(predicted["confidence"]) and orjson_plain(snippet["fps"]) and orjson_plain(value["agreement"])
    return value, plain


def line(value: dict, *, plain: bool) -> bytes:
    """One line's bytes, without its newline."""
    if plain:
        try:
            return orjson.dumps(value, option=_SORTED)
        except orjson.JSONEncodeError:  # an integer beyond 64 bits, a lone surrogate: `json` decides
            pass
    return _STDLIB.encode(value).encode()


def write_jsonl(*, rows: Iterable[Row], out: IO[bytes], pseudonym: Pseudonyms, **_) -> dict:
    counts: dict[str, int] = {}
    chunk = bytearray()
    for row in rows:
        value, plain = example(row, pseudonym)
        chunk += line(value, plain=plain)
        chunk += b"\n"
        counts[row.kind] = counts.get(row.kind, 0) + 1
        if len(chunk) >= _FLUSH_BYTES:
            out.write(chunk)
            chunk.clear()
    out.write(chunk)
    return {"rows": sum(counts.values()), "kinds": dict(sorted(counts.items()))}
