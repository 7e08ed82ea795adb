"""The supervisor's figures about visits: turnaround, SLA, automation and error rates.

Definitions (the tests pin them on hand-built data):

- **Turnaround** of a visit: from its `exited_at` to the `issued_at` of its first receipt
  (kind `receipt.issued`; corrections that follow a dispute do not count). A visit counts in
  the window in which its receipt was issued. Split by the routing decision: `auto`
  (auto-accepted) and `reviewed`. Percentiles as PostgreSQL's `percentile_cont`.
- **Inside SLA**: turnaround ≤ the visit's SLA (`due_at − exited_at` as routed; for an
  auto-accepted visit, which has no `due_at`, the store's `sla_minutes` when the receipt was
  issued).

Turnaround, decision, exit and "inside SLA" are written on the first receipt when it is
issued (`validation.services.receipts.receipt_turnaround`), so a window of turnarounds is a
range of one covering index per store (`receipt_first_store_issued`), with no join.
- **Automation rate**: auto-accepted visits / all visits that exited in the window.
- **Error rate of auto-accepted visits**: audits that corrected the cart / audits finished,
  over auto-accepted visits with an audit outcome (`Visit.audit_outcome`), with its Wilson
  95 % interval. By store and model version. Fewer than `MIN_AUDITS` audits read "too few
  audits": "0.0 % (0–79 %)" over three audits says nothing and looks like good news. Every
  audit outcome is a checked judgement: an audit cannot be submitted with an event nobody
  opened (`validation.visit_result`, `not_checked`).
"""

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, DateTimeField, F, Q, QuerySet
from django.db.models.functions import Trunc
from django.utils import timezone

from catalog.models import Store
from infra.stats import PercentilesCont, grouped_percentiles, percentiles, wilson_interval
from validation.models import Receipt, Visit

FRACTIONS = (0.5, 0.95, 0.99)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
# Audits are a small sample: the error rate is measured over a longer window.
AUDIT_WINDOW = dt.timedelta(days=30)
# Below this many audits an error rate is not shown as a number.
MIN_AUDITS = 10


# Written on each visit's first receipt by `receipt_issue` (see `receipt_turnaround`): the
# window reads of this module scan one covering index of one table, with no join.
TURNAROUND_S = F("turnaround_s")


def store_codes(stores) -> dict[int, str]:
    """{pk: code} of `stores` (a queryset or an iterable of stores), in one query at most.

    The figures filter by these ids as constants: the planner then estimates each store's
    range of the (store, time) indexes instead of joining the stores' table."""
    if isinstance(stores, QuerySet):
        return dict(stores.order_by().values_list("pk", "code"))
    return {store.pk: store.code for store in stores}


@dataclass(frozen=True)
class Turnaround:
    count: int
    p50: float | None
    p95: float | None
    p99: float | None

    def as_dict(self) -> dict:
        return {"count": self.count, "p50": _round(self.p50), "p95": _round(self.p95), "p99": _round(self.p99)}


@dataclass(frozen=True)
class TurnaroundWindow:
    all: Turnaround
    auto: Turnaround
    reviewed: Turnaround
    inside_sla: int

    @property
    def inside_sla_share(self) -> float | None:
        return self.inside_sla / self.all.count if self.all.count else None

    def as_dict(self) -> dict:
        return {
            **self.all.as_dict(),
            "auto": self.auto.as_dict(),
            "reviewed": self.reviewed.as_dict(),
            "inside_sla": _round(self.inside_sla_share, 4),
        }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def first_receipts(*, stores: QuerySet[Store], since: dt.datetime, until: dt.datetime | None = None):
    """First receipts (kind issued) of the stores' visits issued in [since, until): a range of
    the covering index `receipt_first_store_issued` per store."""
    receipts = Receipt.objects.filter(
        kind=Receipt.Kind.ISSUED, store_id__in=list(store_codes(stores)), issued_at__gte=since
    )
    return receipts.filter(issued_at__lt=until) if until is not None else receipts


AUTO = Q(decision=Visit.Decision.AUTO_ACCEPT)
# Counted over a column of the covering index (not the primary key), so that PostgreSQL can
# answer from the index alone.
COUNTED = "issued_at"


def _figures(count: int, values: dict) -> Turnaround:
    return Turnaround(count, values.get(0.5), values.get(0.95), values.get(0.99))


def turnaround_window(*, stores: QuerySet[Store], since: dt.datetime, until: dt.datetime | None = None):
    """Turnaround percentiles (all, auto, reviewed) and the SLA count of receipts issued in the window."""
    receipts = first_receipts(stores=stores, since=since, until=until)
    counts = receipts.aggregate(
        total=Count(COUNTED), auto=Count(COUNTED, filter=AUTO), inside=Count(COUNTED, filter=Q(inside_sla=True))
    )
    if not counts["total"]:
        by_decision, overall = {}, {}
    else:
        by_decision = grouped_percentiles(receipts, F("decision"), TURNAROUND_S, FRACTIONS)
        overall = percentiles(receipts, TURNAROUND_S, FRACTIONS)
    return TurnaroundWindow(
        all=_figures(counts["total"], overall),
        auto=_figures(counts["auto"], by_decision.get(Visit.Decision.AUTO_ACCEPT, {})),
        reviewed=_figures(counts["total"] - counts["auto"], by_decision.get(Visit.Decision.REVIEW, {})),
        inside_sla=counts["inside"],
    )


def turnaround_windows(*, stores: QuerySet[Store], windows: dict[str, dt.datetime]) -> dict[str, TurnaroundWindow]:
    """`turnaround_window` for several windows ending now (`{"last_hour": since, …}`).

    On PostgreSQL two queries cover every window: one grouped by decision, one overall, each
    window a `FILTER` over the longest window's receipts with one `percentile_cont(ARRAY[…])`
    sort per window. Elsewhere, one `turnaround_window` per window."""
    if connection.vendor != "postgresql":
        return {name: turnaround_window(stores=stores, since=since) for name, since in windows.items()}
    receipts = first_receipts(stores=stores, since=min(windows.values()))
    aggregates, percentile_names = {}, {}
    for index, (name, since) in enumerate(windows.items()):
        inside = Q(issued_at__gte=since)
        aggregates[f"n{index}"] = Count(COUNTED, filter=inside)
        aggregates[f"in{index}"] = Count(COUNTED, filter=inside & Q(inside_sla=True))
        percentile_names[name] = f"p{index}"
        aggregates[f"p{index}"] = PercentilesCont(TURNAROUND_S, FRACTIONS, filter=inside)
    grouped = {row["decision"]: row for row in receipts.order_by().values("decision").annotate(**aggregates)}
    overall = receipts.aggregate(**{key: aggregates[key] for key in percentile_names.values()})

    def figures(count: int, found) -> Turnaround:
        return _figures(count, dict(zip(FRACTIONS, found, strict=True)) if count and found else {})

    result = {}
    for index, name in enumerate(windows):
        auto = grouped.get(Visit.Decision.AUTO_ACCEPT, {})
        reviewed = grouped.get(Visit.Decision.REVIEW, {})
        total = sum(row[f"n{index}"] for row in grouped.values())
        result[name] = TurnaroundWindow(
            all=figures(total, overall[f"p{index}"]),
            auto=figures(auto.get(f"n{index}", 0), auto.get(f"p{index}")),
            reviewed=figures(reviewed.get(f"n{index}", 0), reviewed.get(f"p{index}")),
            inside_sla=sum(row[f"in{index}"] for row in grouped.values()),
        )
    return result


def turnaround_series(*, stores: QuerySet[Store], since: dt.datetime, bucket: str = "hour") -> list[dict]:
    """Turnaround p50/p95 per hour (or minute) of receipt issue, oldest first, for the chart."""
    receipts = first_receipts(stores=stores, since=since)
    group = Trunc("issued_at", bucket, output_field=DateTimeField())
    rows = grouped_percentiles(receipts, group, TURNAROUND_S, (0.5, 0.95))
    return [
        {"at": at.isoformat(), "p50": _round(values[0.5]), "p95": _round(values[0.95])}
        for at, values in sorted(rows.items())
    ]


@dataclass(frozen=True)
class AutomationRow:
    store: str
    model_version: str
    visits: int
    auto_accepted: int
    audits: int
    audit_errors: int

    @property
    def automation_rate(self) -> float | None:
        return self.auto_accepted / self.visits if self.visits else None

    @property
    def error_rate(self) -> float | None:
        return self.audit_errors / self.audits if self.audits else None

    @property
    def error_interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.audit_errors, self.audits)

    @property
    def too_few_audits(self) -> bool:
        return self.audits < MIN_AUDITS

    def as_dict(self) -> dict:
        interval = self.error_interval
        return {
            "store": self.store,
            "model_version": self.model_version,
            "visits": self.visits,
            "auto_accepted": self.auto_accepted,
            "automation_rate": _round(self.automation_rate, 4),
            "audits": self.audits,
            "audit_errors": self.audit_errors,
            "error_rate": _round(self.error_rate, 4),
            "error_rate_ci95": [round(interval[0], 4), round(interval[1], 4)] if interval else None,
            "too_few_audits": self.too_few_audits,
        }


def automation_by_model(
    *, stores: QuerySet[Store], since: dt.datetime, audit_since: dt.datetime | None = None
) -> list[AutomationRow]:
    """Automation rate (visits exited since `since`) and audit error rate (auto-accepted visits
    exited since `audit_since`, default 30 days) per store and model version.

    Two grouped queries, each answered from a covering index on PostgreSQL: the window's
    visits (`visit_store_exit_cover`) and the audited visits of the longer window (partial
    `visit_audited_exit_cover`), so the 30 days of visits are never scanned whole."""
    audit_since = audit_since or min(since, timezone.now() - AUDIT_WINDOW)
    codes = store_codes(stores)
    keys = ("store_id", "model_version")
    routed = (
        Visit.objects.filter(store_id__in=list(codes), exited_at__gte=since)
        .order_by()
        .values(*keys)
        .annotate(visits=Count("decision"), auto_accepted=Count("decision", filter=AUTO))
    )
    audited = (
        Visit.objects.filter(store_id__in=list(codes), exited_at__gte=audit_since)
        .filter(AUTO)
        .exclude(audit_outcome="")
        .order_by()
        .values(*keys)
        .annotate(
            audits=Count("audit_outcome"),
            audit_errors=Count("audit_outcome", filter=Q(audit_outcome=Visit.AuditOutcome.CORRECTED)),
        )
    )
    rows: dict[tuple[str, str], dict] = {}
    for row in (*routed, *audited):
        rows.setdefault((codes[row["store_id"]], row["model_version"]), {}).update(row)
    return [
        AutomationRow(
            store=store,
            model_version=version,
            visits=row.get("visits", 0),
            auto_accepted=row.get("auto_accepted", 0),
            audits=row.get("audits", 0),
            audit_errors=row.get("audit_errors", 0),
        )
        for (store, version), row in sorted(rows.items())
    ]


def automation_rate(*, stores: QuerySet[Store], since: dt.datetime) -> float | None:
    """Auto-accepted share of the visits that exited since `since`; None without visits."""
    row = Visit.objects.filter(store_id__in=list(store_codes(stores)), exited_at__gte=since).aggregate(
        visits=Count("decision"), auto=Count("decision", filter=AUTO)
    )
    return row["auto"] / row["visits"] if row["visits"] else None
