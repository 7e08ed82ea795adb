"""`jsonl`: one training example per line, for both kinds of label (docs/datasets.md)."""

import json
from collections.abc import Iterable
from typing import IO

from annotator.exports.rows import (
    Pseudonyms,
    Row,
    event_values,
    iso,
    snippet_reference,
    snippet_result,
    visit_id,
)

SCHEMA = "loupe.dataset.jsonl/1"


def _frames(row: Row, boxes: list[dict]) -> list[int] | None:
    if boxes:
        frames = [box["frame"] for box in boxes]
        return [min(frames), max(frames)]
    if row.snippet_id is not None and row.snippet_frame_count:
        return [0, row.snippet_frame_count - 1]
    return None


def example(row: Row, pseudonym: Pseudonyms) -> dict:
    base = {
        "schema": SCHEMA,
        "position": row.position,
        "label": str(row.label),
        "kind": row.kind,
        "store": row.store,
        "labelled_at": iso(row.created_at),
        "model_version": row.model_version,
        "verdict": row.verdict,
        "snippet": snippet_reference(row),
    }
    provenance = {
        "visit": pseudonym("v", visit_id(row)),
        "event": pseudonym("e", row.event_id),
        "associate": pseudonym("a", row.associate_id),
    }
    if row.kind == "visit_event":
        values = event_values(row)
        final = values["final"]
        return base | {
            "frames": _frames(row, []),
            "action": final["action"],
            "sku": final["sku"],
            "quantity": final["quantity"],
            "boxes": [],
            "predicted": values["predicted"] if row.predicted is not None else None,
            "provenance": provenance | {"occurred_at": values["occurred_at"]},
        }
    result = snippet_result(row)
    return base | {
        "frames": _frames(row, result["boxes"]),
        "action": result["action"],
        "sku": result["sku"],
        "quantity": None,
        "boxes": result["boxes"],
        "predicted": _predicted_boxes(row.predicted),
        "provenance": provenance | {"occurred_at": None},
    }


def _predicted_boxes(predicted) -> dict | None:
    """The model's boxes on a snippet (as the intake stored them), keys limited to the schema."""
    if not isinstance(predicted, list):
        return None
    keys = ("frame", "label", "sku", "box", "score")
    return {"boxes": [{key: p[key] for key in keys if key in p} for p in predicted if isinstance(p, dict)]}


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
