"""Statistics the dashboards share: percentiles over a queryset, Wilson score intervals.

Percentiles follow PostgreSQL's `percentile_cont` (linear interpolation between the two
nearest ranks), so the number is the same on both databases: PostgreSQL computes it in the
database with one aggregate per fraction; SQLite, which has no ordered-set aggregates, reads
the sorted values (at most `PYTHON_PERCENTILE_LIMIT` of them) and interpolates in Python.
"""

import math
from collections.abc import Sequence

from django.db import connection
from django.db.models import Aggregate, Expression, Field, FloatField, QuerySet

PYTHON_PERCENTILE_LIMIT = 500_000


class PercentileCont(Aggregate):
    """`percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)`, PostgreSQL only."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("A percentile fraction lies in [0, 1].")
        super().__init__(expression, fraction=float(fraction), **extra)

    def as_sql(self, compiler, connection, **extra_context):
        if connection.vendor != "postgresql":
            raise NotImplementedError("percentile_cont needs PostgreSQL; use infra.stats.percentiles.")
        return super().as_sql(compiler, connection, fraction=repr(self.extra["fraction"]), **extra_context)


class PercentilesCont(Aggregate):
    """`percentile_cont(ARRAY[f1, f2, …]) WITHIN GROUP (ORDER BY expression)`: several
    percentiles from one sort (PostgreSQL only); an array in the order of `fractions`."""

    function = "percentile_cont"
    template = "%(function)s(ARRAY[%(fractions)s]::double precision[]) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fractions, **extra):
        if not all(0.0 <= fraction <= 1.0 for fraction in fractions):
            raise ValueError("A percentile fraction lies in [0, 1].")
        super().__init__(expression, fractions=tuple(float(f) for f in fractions), output_field=ArrayField(), **extra)

    def as_sql(self, compiler, connection, **extra_context):
        if connection.vendor != "postgresql":
            raise NotImplementedError("percentile_cont needs PostgreSQL; use infra.stats.percentiles.")
        fractions = ", ".join(repr(f) for f in self.extra["fractions"])
        return super().as_sql(compiler, connection, fractions=fractions, **extra_context)


class ArrayField(Field):
    """The array a `PercentilesCont` returns, as a Python list (psycopg2 converts it)."""

    def get_internal_type(self) -> str:
        return "PercentileArray"  # not a float: no float() conversion of the list

    def from_db_value(self, value, expression, connection):
        return value


def percentile_of_sorted(values: Sequence[float], fraction: float) -> float | None:
    """`percentile_cont` of already sorted values; None for no values."""
    if not values:
        return None
    position = fraction * (len(values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def percentiles(queryset: QuerySet, expression: Expression, fractions: Sequence[float]) -> dict[float, float | None]:
    """The `fractions` percentiles of `expression` over `queryset` (None where there are no rows)."""
    if connection.vendor == "postgresql":
        found = queryset.aggregate(_p=PercentilesCont(expression, fractions))["_p"]
        return dict(zip(fractions, found or [None] * len(fractions), strict=True))
    values = sorted(
        value
        for value in queryset.annotate(_value=expression)
        .order_by()
        .values_list("_value", flat=True)[:PYTHON_PERCENTILE_LIMIT]
        if value is not None
    )
    return {fraction: percentile_of_sorted(values, fraction) for fraction in fractions}


def grouped_percentiles(
    queryset: QuerySet, group: Expression, expression: Expression, fractions: Sequence[float]
) -> dict[object, dict[float, float | None]]:
    """Like `percentiles`, per value of `group` (e.g. an hour bucket): {group: {fraction: value}}."""
    if connection.vendor == "postgresql":
        aggregates = {f"p{index}": PercentileCont(expression, fraction) for index, fraction in enumerate(fractions)}
        rows = queryset.annotate(_group=group).order_by().values("_group").annotate(**aggregates)
        return {row["_group"]: {fraction: row[f"p{index}"] for index, fraction in enumerate(fractions)} for row in rows}
    buckets: dict[object, list[float]] = {}
    pairs = (
        queryset.annotate(_group=group, _value=expression)
        .order_by()
        .values_list("_group", "_value")[:PYTHON_PERCENTILE_LIMIT]
    )
    for key, value in pairs:
        if value is not None:
            buckets.setdefault(key, []).append(value)
    return {
        key: {fraction: percentile_of_sorted(sorted(values), fraction) for fraction in fractions}
        for key, values in buckets.items()
    }


def wilson_interval(successes: int, trials: int, *, z: float = 1.959964) -> tuple[float, float] | None:
    """The Wilson score interval (95 % by default) of a proportion `successes / trials`; None
    without trials. Unlike the normal approximation it stays inside [0, 1] and behaves with
    zero successes, which is the usual case for a small error rate."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    margin = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - margin), min(1.0, centre + margin)
