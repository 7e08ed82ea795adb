"""`jsonl`: one training example per line, for both kinds of label (docs/datasets.md).

Lines are written by orjson (sorted keys, compact), which gives byte for byte what
`json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` gives for every value
but two kinds of float: below 1e-4 (`1e-05` vs `0.00001`) and not finite (`NaN` vs `null`).
A line holding one of those (rare: the schema's floats are confidences and frame rates) is
written by the standard library instead, so the bytes never depend on which one wrote them.
"""

import json
from collections.abc import Iterable
from typing import IO

import orjson

from annotator.exports.rows import (
    Pseudonyms,
    Row,
    event_values,
    orjson_plain,
    snippet_reference,
    snippet_result,
    visit_id,
)

SCHEMA = "loupe.dataset.jsonl/1"
_SORTED = orjson.OPT_SORT_KEYS
_STDLIB = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_FLUSH_BYTES = 1 << 20


def _frames(row: Row, boxes: list[dict]) -> list[int] | None:
    if boxes:
        frames = [box["frame"] for box in boxes]
        return [min(frames), max(frames)]
    if row.snippet_id is not None and row.snippet_frame_count:
        return [0, row.snippet_frame_count - 1]
    return None


def example(row: Row, pseudonym: Pseudonyms) -> tuple[dict, bool]:
    """The row's line as a dict, and whether orjson may write it (`orjson_plain`)."""
    value = {
        "schema": SCHEMA,
        "position": row.position,
        "label": row.label,
        "kind": row.kind,
        "store": row.store,
        "labelled_at": row.labelled_at,
        "model_version": row.model_version,
        "verdict": row.verdict,
        "snippet": snippet_reference(row),
    }
    provenance = {
        "visit": pseudonym("v", visit_id(row)),
        "event": pseudonym.once("e", row.event_id),
        "associate": pseudonym("a", row.associate_id),
    }
    if row.kind == "visit_event":
        values = event_values(row)
        final, predicted = values["final"], values["predicted"]
        provenance["occurred_at"] = values["occurred_at"]
        value["frames"] = _frames(row, [])
        value["action"], value["sku"], value["quantity"] = final["action"], final["sku"], final["quantity"]
        value["boxes"] = []
        value["tracks"] = []
        value["predicted"] = predicted if row.predicted is not None else None
        value["provenance"] = provenance
        return value, row.plain_json and orjson_plain(predicted) and orjson_plain(final)
    result = snippet_result(row)
    provenance["occurred_at"] = None
    value["frames"] = _frames(row, result["boxes"])
    value["action"], value["sku"], value["quantity"] = result["action"], result["sku"], None
    value["boxes"] = result["boxes"]  # tracks included, one box per frame
    value["tracks"] = result["tracks"]  # and their keyframes, as drawn
    value["predicted"] = _predicted_boxes(row.predicted)
    value["provenance"] = provenance
    return value, row.plain_json and orjson_plain(result) and orjson_plain(value["predicted"])


def _predicted_boxes(predicted) -> dict | None:
    """The model's boxes on a snippet (as the intake stored them), keys limited to the schema."""
    if not isinstance(predicted, list):
        return None
    keys = ("frame", "label", "sku", "box", "score")
    return {"boxes": [{key: p[key] for key in keys if key in p} for p in predicted if isinstance(p, dict)]}


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
