"""`csv`: one row per validated visit event (docs/datasets.md).

`csv.writer` writes the cells as the schema wants them: None as an empty cell, floats by
`repr`, everything else by `str`. Rows are gathered in a string buffer and written to the
output encoded, about a megabyte at a time."""

import csv
import io
from collections.abc import Iterable
from typing import IO

from annotator.exports.rows import Pseudonyms, Row, event_values, visit_id

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


_FLUSH_CHARS = 1 << 20


def csv_row(row: Row, pseudonym: Pseudonyms) -> tuple:
    values = event_values(row)
    predicted, final = values["predicted"], values["final"]
    return (
        row.label,
        row.position,
        pseudonym("v", visit_id(row)),
        pseudonym.once("e", row.event_id),
        row.store,
        values["occurred_at"],
        row.labelled_at,
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


def write_csv(*, rows: Iterable[Row], out: IO[bytes], pseudonym: Pseudonyms, **_) -> dict:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        if row.kind != "visit_event":
            continue
        writer.writerow(csv_row(row, pseudonym))
        count += 1
        if text.tell() >= _FLUSH_CHARS:
            out.write(text.getvalue().encode())
            text.seek(0)
            text.truncate()
    out.write(text.getvalue().encode())
    return {"rows": count, "kinds": {"visit_event": count}}
