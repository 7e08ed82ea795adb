"""`csv`: one row per validated visit event (docs/datasets.md).

`csv.writer` writes the cells as the schema wants them: None as an empty cell, floats by
`repr`, everything else by `str`. Rows are gathered in a string buffer and written to the
output encoded, about a megabyte at a time.

Text that a spreadsheet would run as a formula (a cell starting with `=`, `+`, `-`, `@`, a
tab or a carriage return: a model version, a SKU or an action sent by a store's system, or
typed by anyone) gets a leading `'`, so opening the file never runs it (OWASP "CSV
injection"). The rule goes by the value's type, not its look: numbers (quantities,
confidences) are written as numbers, so -1.5 stays -1.5, while the text "-1.5" becomes '-1.5.
Text that starts with `'` itself gets one more, so a reader drops exactly one leading `'`
from any cell that has one and has the value back."""

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
    "checked",
    "source",
    "agreement",
)


_FLUSH_CHARS = 1 << 20
_ESCAPED_STARTS = frozenset("=+-@\t\r'")


def _inert(value):
    """Text a spreadsheet would run as a formula (or that starts with the escape itself),
    prefixed with `'`; anything else as it is."""
    if isinstance(value, str) and value[:1] in _ESCAPED_STARTS:
        return "'" + value
    return value


def csv_row(row: Row, pseudonym: Pseudonyms) -> tuple:
    values = event_values(row)
    predicted, final = values["predicted"], values["final"]
    cells = (
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
        "true" if row.checked else "false",
        row.source,
        row.agreement,
    )
    return tuple(_inert(value) for value in cells)


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
