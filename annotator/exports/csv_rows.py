"""`csv`: one row per validated visit event (docs/datasets.md)."""

import csv
import io
from collections.abc import Iterable
from typing import IO

from annotator.exports.rows import Pseudonyms, Row, event_values, iso, visit_id

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
)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
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
