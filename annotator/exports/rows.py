"""Reading a dataset's frozen labels in position order, in dense position batches (flat
memory, no long-running transaction), and the per-dataset pseudonyms that replace visit ids.

A batch is one SQL statement (DatasetItem → Label → Store, Snippet → Camera) selecting only
the columns the writers need, read as plain tuples: no model instances. On PostgreSQL ids and
times come back already as the text the files carry; the JSON columns come as text and are
parsed with orjson, except the rare text orjson would read differently from the standard
library (integers beyond 64 bits, long digit runs, NaN), which `json` reads as before.
"""

import datetime as dt
import hashlib
import json
import math
import re
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.db import connection

from annotator.models import Dataset, DatasetItem, Label, Snippet
from annotator.tracks import track_boxes
from catalog.models import Camera, Store


class Row(NamedTuple):
    position: int
    label: str
    kind: str
    store: str
    labelled_at: str  # ISO-8601 UTC, `Z`
    model_version: str
    predicted: Any
    human: Any
    verdict: str
    event_id: str | None
    associate_id: int
    provenance: Any
    snippet_id: str | None
    snippet_external_id: str | None
    snippet_camera: str | None
    snippet_file: str | None
    snippet_container: str | None
    snippet_sha256: str | None
    snippet_fps: float | None
    snippet_width: int | None
    snippet_height: int | None
    snippet_frame_count: int | None
    checked: bool  # SQLite answers 0/1: the writers take its truth
    source: str
    agreement: float | None  # consensus and adjudication labels only


# (column, its PostgreSQL expression when that differs). Ids as text, times as ISO text:
# `to_char` gives what Python's isoformat gives, once `.000000` is dropped (`dataset_rows`).
_COLUMNS = (
    ("i.position", None),
    ("l.id", "l.id::text"),
    ("l.kind", None),
    ("st.code", None),
    ("l.created_at", """to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""),
    ("l.model_version", None),
    ("l.predicted", "l.predicted::text"),
    ("l.human", "l.human::text"),
    ("l.verdict", None),
    ("l.event_id", "l.event_id::text"),
    ("l.associate_id", None),
    ("l.provenance", "l.provenance::text"),
    ("l.snippet_id", "l.snippet_id::text"),
    ("sn.external_id", None),
    ("cam.code", None),
    ("sn.file", None),
    ("sn.container", None),
    ("sn.sha256", None),
    ("sn.fps", None),
    ("sn.width", None),
    ("sn.height", None),
    ("sn.frame_count", None),
    ("l.checked", None),
    ("l.source", None),
    ("l.agreement", None),
)


def _select() -> str:
    postgres = connection.vendor == "postgresql"
    columns = ", ".join(pg if postgres and pg else plain for plain, pg in _COLUMNS)
    models = (DatasetItem, Label, Store, Snippet, Camera)
    table = {model: connection.ops.quote_name(model._meta.db_table) for model in models}
    # Table names are ours; values are parameters.
    return (
        f"SELECT {columns} FROM {table[DatasetItem]} i "  # noqa: S608
        f"JOIN {table[Label]} l ON l.seq = i.label_id "
        f"JOIN {table[Store]} st ON st.id = l.store_id "
        f"LEFT JOIN {table[Snippet]} sn ON sn.id = l.snippet_id "
        f"LEFT JOIN {table[Camera]} cam ON cam.id = sn.camera_id "
        "WHERE i.dataset_id = %s AND i.position >= %s AND i.position < %s ORDER BY i.position"
    )


# A run of 17 digits in JSON text: an integer beyond 64 bits (orjson reads it as a float) or
# a number long enough that only the standard library's parser is known to read it the same.
# Looked for over a whole batch at once (every digit mapped to "0", then one substring
# search), and text by text only in a batch that has one.
_LONG_NUMBER = re.compile(r"[0-9]{17}")
_ANY_DIGIT_TO_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_DIGIT_RUN = b"0" * 17
_JSON = (6, 7, 11)  # predicted, human, provenance


def _has_long_number(batch: list[tuple]) -> bool:
    texts = "\n".join([values[i] for values in batch for i in _JSON if values[i] is not None])
    return _DIGIT_RUN in texts.encode().translate(_ANY_DIGIT_TO_ZERO)


def _loads(text: str | None) -> Any:
    """A JSON column's value, read as the standard library reads it."""
    if text is None:
        return None
    if _LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # what Django's JSONField hands back for text it cannot parse


def _read_json(values: tuple, *, careful: bool) -> tuple[Any, Any, Any]:
    """predicted, human, provenance."""
    predicted, human, provenance = values[6], values[7], values[11]
    if not careful:
        try:
            return (
                None if predicted is None else orjson.loads(predicted),
                None if human is None else orjson.loads(human),
                None if provenance is None else orjson.loads(provenance),
            )
        except orjson.JSONDecodeError:  # NaN, 1e400, a lone surrogate: `json` decides
            pass
    return _loads(predicted), _loads(human), _loads(provenance)


def orjson_plain(value: Any) -> bool:
    """Whether orjson writes this value exactly as `json.dumps` does: all but floats below
    1e-4 (`0.00001` vs `1e-05`) and floats not finite (`null` vs `NaN`)."""
    kind = type(value)
    if kind is float:
        return value == 0.0 or 1e-4 <= abs(value) < math.inf
    if kind is dict:
        value = value.values()
    elif kind is not list:
        return True
    for item in value:
        kind = type(item)
        if not (kind is str or kind is int or item is None or orjson_plain(item)):
            return False
    return True


def _uuid_text(value: Any) -> str | None:
    return None if value is None else str(uuid.UUID(str(value)))


def _from_sqlite(values: tuple) -> tuple:
    """SQLite's raw values as PostgreSQL's expressions give them: ids as hyphenated text
    (SQLite stores 32 hex digits), times as ISO text (it stores naive UTC)."""
    values = list(values)
    for index in (1, 9, 12):
        values[index] = _uuid_text(values[index])
    created = values[4] if isinstance(values[4], dt.datetime) else dt.datetime.fromisoformat(values[4])
    values[4] = iso(created.replace(tzinfo=created.tzinfo or dt.UTC))
    return tuple(values)


def _batches(dataset: Dataset, batch_size: int) -> Iterator[tuple[int, list[tuple]]]:
    """(first position, raw rows) of each batch, in order. On PostgreSQL the next batch's
    statement runs on a helper thread while the caller works through this one, on the same
    connection (psycopg2 connections are thread safe; the wait for PostgreSQL releases the
    GIL), so the database's work and Python's overlap. At most two batches are held."""
    sql = _select()
    key = DatasetItem._meta.get_field("dataset").get_db_prep_value(dataset.pk, connection)
    starts = range(0, dataset.items, batch_size)
    if connection.vendor != "postgresql":
        for start in starts:
            with connection.cursor() as cursor:
                cursor.execute(sql, [key, start, start + batch_size])
                yield start, [_from_sqlite(values) for values in cursor.fetchall()]
        return
    connection.ensure_connection()
    raw = connection.connection

    def fetch(start: int) -> list[tuple]:
        with raw.cursor() as cursor:
            cursor.execute(sql, [key, start, start + batch_size])
            return cursor.fetchall()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dataset-rows") as ahead:
        pending = ahead.submit(fetch, starts[0]) if starts else None
        for index, start in enumerate(starts):
            batch = pending.result()
            pending = ahead.submit(fetch, starts[index + 1]) if index + 1 < len(starts) else None
            yield start, batch


def dataset_rows(
    dataset: Dataset, *, batch_size: int = 5000, on_batch: Callable[[int], None] | None = None
) -> Iterator[Row]:
    """The dataset's rows by position. Positions are dense (0 … items - 1), so each batch is
    one range scan of the (dataset, position) index, whatever the table's statistics say;
    `on_batch(done)` is called after each batch has been consumed."""
    make = Row._make
    for start, batch in _batches(dataset, batch_size):
        careful = _has_long_number(batch)
        for values in batch:
            predicted, human, provenance = _read_json(values, careful=careful)
            labelled_at = values[4]
            if labelled_at[19:26] == ".000000":  # isoformat leaves out zero microseconds
                labelled_at = labelled_at[:19] + "Z"
            # fmt: off
            yield make((
                values[0], values[1], values[2], values[3], labelled_at, values[5],
                predicted, human, values[8], values[9], values[10], provenance, *values[12:],
            ))
            # fmt: on
        del batch
        if on_batch is not None:
            on_batch(min(start + batch_size, dataset.items))


class Pseudonyms:
    """Per-dataset pseudonyms: the first 16 hex digits of HMAC-SHA256 keyed with a secret
    derived from SECRET_KEY and the dataset id. Stable within a dataset (rows of one visit
    can be grouped), unlinkable across datasets and irreversible without SECRET_KEY."""

    _CACHE_LIMIT = 65536  # events of one visit come together; keep memory flat anyway

    def __init__(self, dataset_id: uuid.UUID):
        material = f"loupe.datasets.pseudonym:{dataset_id}:{settings.SECRET_KEY}".encode()
        # HMAC (RFC 2104) with the key's two padded blocks hashed once, not once per value:
        # the very digest `hmac.digest(key, value, "sha256")` gives, in half the time.
        block = hashlib.sha256(material).digest().ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))
        self._cache: dict[tuple[str, str], str] = {}

    def _digest(self, text: str) -> str:
        inner = self._inner.copy()
        inner.update(text.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[:16]

    def __call__(self, prefix: str, value: object) -> str | None:
        if value is None or value == "":
            return None
        key = (prefix, str(value))
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= self._CACHE_LIMIT:
                self._cache.clear()
            found = self._cache[key] = f"{prefix}_{self._digest(key[1])}"
        return found

    def once(self, prefix: str, value: object) -> str | None:
        """The same pseudonym, for a value seen once (an event id): not cached."""
        if value is None or value == "":
            return None
        return f"{prefix}_{self._digest(str(value))}"


def iso(value: Any) -> str | None:
    """A time as ISO-8601 in UTC; strings (already ISO, from JSON provenance) pass through."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return str(value)


# What a label says. Labels are written by the task kinds (annotator.services.labels); these
# readers take only the keys the schemas name, so nothing else a label carries can leak out.

_NOTHING: dict = {}  # read only


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def visit_id(row: Row) -> str | None:
    provenance = row.provenance if isinstance(row.provenance, dict) else _NOTHING
    value = provenance.get("visit") or provenance.get("visit_id")
    return str(value) if value else None


def event_values(row: Row) -> dict:
    """A visit-event label as flat values: the model's event (none for a missed one), the
    human's final event (none for a rejected one), when it happened."""
    provenance = row.provenance if isinstance(row.provenance, dict) else _NOTHING
    said = row.predicted if isinstance(row.predicted, dict) else _NOTHING
    human = row.human if isinstance(row.human, dict) else _NOTHING
    predicted = {
        "sku": said.get("sku"),
        "action": said.get("action"),
        "quantity": said.get("quantity"),
        "confidence": _number(said.get("confidence")),
    }
    decided = said if row.human is None and row.verdict == "confirm" else human
    final = {"sku": decided.get("sku"), "action": decided.get("action"), "quantity": decided.get("quantity")}
    occurred_at = provenance.get("occurred_at") or said.get("occurred_at")
    if not occurred_at and isinstance(row.human, dict):
        occurred_at = human.get("occurred_at")
    return {"predicted": predicted, "final": final, "occurred_at": iso(occurred_at)}


def snippet_result(row: Row) -> dict:
    """A snippet label's human result: action, sku, boxes in clip pixels (its tracks
    expanded to one box per frame, after its single-frame boxes) and the tracks' keyframes."""
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


def snippet_tracks(value: Any) -> list[dict]:
    """A label's tracks (validated when submitted) with only the keys the schema names."""
    tracks = []
    for track in value if isinstance(value, list) else []:
        try:
            keyframes = [
                {key: int(k[key]) for key in ("frame", "x", "y", "w", "h")} | {"outside": bool(k.get("outside"))}
                for k in track["keyframes"]
            ]
            tracks.append({"label": str(track["label"]), "keyframes": keyframes})
        except (KeyError, TypeError, ValueError):
            continue
    return tracks
