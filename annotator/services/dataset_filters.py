"""Dataset filters: what a request may ask for (`dataset_filters_clean`, 400 with `field`
otherwise) and the labels it selects (`dataset_labels`). The datasets themselves, frozen and
built from those labels, are `annotator.services.datasets`."""

import datetime as dt
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, TextField, UUIDField, Value
from django.db.models.functions import Cast, Coalesce
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.fields import DateTimeField

from annotator.exports.rows import iso
from annotator.models import Dataset, Label, Task
from catalog.access import store_for_user, stores_for_user
from catalog.models import Store
from infra.errors import LoupeError
from infra.text import storable

KINDS = (Label.Kind.VISIT_EVENT.value, Label.Kind.SNIPPET.value)
# Which kinds of label each format can express.
FORMAT_KINDS = {
    Dataset.Format.JSONL: KINDS,
    Dataset.Format.CSV: (Label.Kind.VISIT_EVENT.value,),
    Dataset.Format.COCO: (Label.Kind.SNIPPET.value,),
}
_NO_SUBJECT = uuid.UUID(int=0)
FILTER_KEYS = (
    "store",
    "stores",
    "since",
    "until",
    "kinds",
    "model_version",
    "reviewed_only",
    "agreed_only",
    "checked_only",
)


# Filters --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetFilters:
    stores: list[Store]
    kinds: list[str]
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    model_version: str | None = None
    reviewed_only: bool = False
    agreed_only: bool = False
    # Human judgements only (API.md v1.1): no confirm of an event nobody opened.
    checked_only: bool = True

    def as_json(self) -> dict:
        data = asdict(self) | {"stores": sorted(store.code for store in self.stores)}
        return data | {"since": iso(self.since), "until": iso(self.until)}


def _bad(field: str, detail: str, code: str = "invalid") -> LoupeError:
    return LoupeError(detail, code=code, field=f"filters.{field}")


def _time(filters: dict, key: str) -> dt.datetime | None:
    value = filters.get(key)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _bad(key, "Expected an ISO-8601 time.")
    try:
        # A date first: Python's fromisoformat (inside parse_datetime) reads "2026-05-01" as a
        # naive midnight, which would be refused below; a date means 00:00 UTC.
        if (day := parse_date(value)) is not None:
            parsed = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        else:
            parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise _bad(key, "Expected an ISO-8601 time such as 2026-05-01T00:00:00Z.")
    if parsed.tzinfo is None:
        raise _bad(key, "Give the time with its UTC offset.")
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is after the last datetime in UTC
        raise _bad(key, DateTimeField.default_error_messages["overflow"], code="overflow") from None


def _flag(filters: dict, key: str, *, default: bool = False) -> bool:
    value = filters.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _bad(key, "Expected true or false.")
    return value


def dataset_filters_clean(*, format: str, filters: Any, by) -> DatasetFilters:
    """Check filters against the caller's stores and the format. Raises Http404 for a store
    the caller is not granted, LoupeError (400, `field` like `filters.since`) otherwise."""
    if format not in FORMAT_KINDS:
        raise LoupeError(f"format must be one of: {', '.join(FORMAT_KINDS)}.", field="format")
    if filters is None:
        filters = {}
    if not isinstance(filters, dict):
        raise LoupeError("filters must be an object.", field="filters")
    for key in filters:
        if key not in FILTER_KEYS:
            raise _bad(storable(key, "filters"), "Unknown filter.", code="unknown_field")
    codes, key = filters.get("stores"), "stores"
    if codes is None and filters.get("store") not in (None, ""):
        codes, key = [filters["store"]], "store"
    if codes is None or codes == []:
        stores = list(stores_for_user(by).order_by("code"))
        if not stores:
            raise _bad("stores", "You are not granted any store.")
    else:
        if not isinstance(codes, list) or not all(isinstance(code, str) and code for code in codes):
            raise _bad("stores", "Expected a list of store codes.")
        codes = [storable(code, f"filters.{key}") for code in codes]
        stores = sorted({store_for_user(by, code) for code in codes}, key=lambda store: store.code)
    allowed = FORMAT_KINDS[format]
    kinds = filters.get("kinds")
    if kinds is None or kinds == []:
        kinds = list(allowed)
    elif not isinstance(kinds, list) or not all(kind in KINDS for kind in kinds):
        raise _bad("kinds", f"Expected a list of: {', '.join(KINDS)}.")
    elif unfit := [kind for kind in kinds if kind not in allowed]:
        raise _bad("kinds", f"A {format} dataset cannot hold {', '.join(unfit)} labels.")
    since, until = _time(filters, "since"), _time(filters, "until")
    if since and until and since >= until:
        raise _bad("until", "until must be later than since.")
    model_version = filters.get("model_version") or None
    if model_version is not None and (not isinstance(model_version, str) or len(model_version) > 64):
        raise _bad("model_version", "Expected a model version (at most 64 characters).")
    if model_version is not None:
        storable(model_version, "filters.model_version")
    return DatasetFilters(
        stores=stores,
        kinds=sorted(set(kinds), key=KINDS.index),
        since=since,
        until=until,
        model_version=model_version,
        reviewed_only=_flag(filters, "reviewed_only"),
        agreed_only=_flag(filters, "agreed_only"),
        checked_only=_flag(filters, "checked_only", default=True),
    )


def dataset_labels(*, filters: DatasetFilters) -> QuerySet[Label]:
    """The labels the filters select, in dataset order (oldest label first); never the labels
    of an erased shopper's visits.

    `reviewed_only`: the label's task has all its annotations (every reviewer is in).
    `checked_only` (the default): human judgements only, no unchecked confirm (`Label.checked`).
    `agreed_only`: no other label of the same task about the same event (or snippet) has a
    different verdict or human value.
    """
    labels = Label.objects.filter(
        store__in=[store.pk for store in filters.stores], kind__in=filters.kinds, erased_at__isnull=True
    )
    if filters.since:
        labels = labels.filter(created_at__gte=filters.since)
    if filters.until:
        labels = labels.filter(created_at__lt=filters.until)
    if filters.model_version:
        labels = labels.filter(model_version=filters.model_version)
    if filters.reviewed_only:
        labels = labels.filter(task__status=Task.Status.DONE)
    if filters.checked_only:
        labels = labels.filter(checked=True)
    if filters.agreed_only:
        said = Coalesce(Cast("human", TextField()), Value("", output_field=TextField()))
        labels = labels.annotate(said=said)
        disagreeing = (
            Label.objects.filter(task_id=OuterRef("task_id"), kind=OuterRef("kind"))
            .annotate(subject=Coalesce("event_id", Value(_NO_SUBJECT, output_field=UUIDField())), other_said=said)
            .filter(subject=Coalesce(OuterRef("event_id"), Value(_NO_SUBJECT, output_field=UUIDField())))
            .filter(~Q(verdict=OuterRef("verdict")) | ~Q(other_said=OuterRef("said")))
        )
        labels = labels.filter(~Exists(disagreeing))
    return labels.order_by("seq")


# Create, retry --------------------------------------------------------------------------------
