"""Calibration of the auto-accept threshold from human-validated events.

Every event a human judged (a review, an audit or a dispute review, recorded as an
`annotator.Label` of kind `visit_event`) is one observation: the model's confidence for the
event, the model version, and whether the model was right (verdict `confirm`) or wrong
(`correct`: another sku/action/quantity; `reject`: it did not happen). Events the model
missed have no confidence and cannot move a threshold, so they are left out here (they show
as errors of the visit, in the audit error rate). Labels of rejected annotations are left out.
Only **checked** labels count (`Label.checked`): a `confirm` of an event nobody opened is the
model's word repeated, and counting it as "right" would fill the top buckets and talk the
threshold down; `unchecked_confirms` says how many were left out.

- **Reliability**: accuracy per confidence bucket (tenths), per model version.
- **Recommendation** for a target event error rate r: the lowest threshold t (a confidence
  seen in the data) such that, among judged events with confidence ≥ t, the share that was
  wrong is ≤ r. With it: how many events that is, the Wilson 95 % interval of their error
  rate (the honest uncertainty of "≤ r" on this much data), and the share of the store's
  recent visits that would need review at t (a visit is reviewed when its least confident
  event is below t), with its Wilson interval too.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, OuterRef, QuerySet, Subquery

from annotator.models import Label, Slot
from catalog.models import Store
from infra.stats import wilson_interval
from validation.confidence import visits_to_review
from validation.models import Event, Visit

OBSERVATION_LIMIT = 200_000
BUCKETS = 10
RIGHT = "confirm"
WRONG = ("correct", "reject")


@dataclass(frozen=True)
class Observation:
    confidence: float
    model_version: str
    right: bool


@dataclass(frozen=True)
class Bucket:
    low: float
    high: float
    n: int
    right: int
    mean_confidence: float | None

    @property
    def accuracy(self) -> float | None:
        return self.right / self.n if self.n else None


@dataclass(frozen=True)
class Recommendation:
    target: float
    threshold: float | None
    accepted_events: int
    accepted_errors: int
    error_interval: tuple[float, float] | None
    visits: int
    visits_to_review: int
    review_interval: tuple[float, float] | None

    @property
    def error_rate(self) -> float | None:
        return self.accepted_errors / self.accepted_events if self.accepted_events else None

    @property
    def review_share(self) -> float | None:
        return self.visits_to_review / self.visits if self.visits else None


def _judged(*, stores: QuerySet[Store], since: dt.datetime) -> QuerySet[Label]:
    return Label.objects.filter(
        kind=Label.Kind.VISIT_EVENT,
        store__in=stores,
        created_at__gte=since,
        event_id__isnull=False,
        verdict__in=(RIGHT, *WRONG),
    ).exclude(annotation__slot__state=Slot.State.CANCELLED)


def unchecked_confirms(*, stores: QuerySet[Store], since: dt.datetime) -> int:
    """Confirms of events nobody opened since `since`: left out of the observations."""
    return _judged(stores=stores, since=since).filter(checked=False).count()


def observations(*, stores: QuerySet[Store], since: dt.datetime) -> list[Observation]:
    """Checked judgements of the stores' labels since `since` (at most OBSERVATION_LIMIT, newest)."""
    confidence = Event.objects.filter(pk=OuterRef("event_id")).values("confidence")[:1]
    rows = (
        _judged(stores=stores, since=since)
        .filter(checked=True)
        .annotate(confidence=Subquery(confidence))
        .order_by("-created_at")
        .values_list("confidence", "model_version", "verdict")[:OBSERVATION_LIMIT]
    )
    return [Observation(conf, version, verdict == RIGHT) for conf, version, verdict in rows if conf is not None]


def reliability(observed: list[Observation]) -> dict[str, list[Bucket]]:
    """{model version (and "all"): ten buckets of confidence, [0, .1) … [.9, 1]}."""
    groups: dict[str, list[Observation]] = {"all": observed}
    for item in observed:
        groups.setdefault(item.model_version or "unknown", []).append(item)
    result = {}
    for version, items in groups.items():
        sums = [[0, 0, 0.0] for _ in range(BUCKETS)]
        for item in items:
            index = min(int(item.confidence * BUCKETS), BUCKETS - 1)
            sums[index][0] += 1
            sums[index][1] += item.right
            sums[index][2] += item.confidence
        result[version] = [
            Bucket(
                low=index / BUCKETS,
                high=(index + 1) / BUCKETS,
                n=n,
                right=right,
                mean_confidence=total / n if n else None,
            )
            for index, (n, right, total) in enumerate(sums)
        ]
    return result


def lowest_threshold(observed: list[Observation], target: float) -> tuple[float | None, int, int]:
    """(threshold, events at or above it, errors among them) for the lowest confidence t whose
    events at or above t have an error rate ≤ target; (None, 0, 0) if no t qualifies. "At or
    above" because that is what t would accept (`confidence.event_is_sure`)."""
    best: tuple[float | None, int, int] = (None, 0, 0)
    ordered = sorted(observed, key=lambda item: -item.confidence)
    errors = 0
    for position, item in enumerate(ordered):
        n = position + 1
        errors += not item.right
        last_of_value = position + 1 == len(ordered) or ordered[position + 1].confidence != item.confidence
        if last_of_value and errors <= target * n:
            best = (item.confidence, n, errors)
    return best


def review_load(*, stores: QuerySet[Store], since: dt.datetime, threshold: float) -> tuple[int, int]:
    """(visits exited since `since`, those whose least confident event is below `threshold`)."""
    row = Visit.objects.filter(store__in=stores, exited_at__gte=since).aggregate(
        visits=Count("id"), review=Count("id", filter=visits_to_review(threshold))
    )
    return row["visits"], row["review"]


def recommend(
    *, stores: QuerySet[Store], since: dt.datetime, target: float, observed: list[Observation] | None = None
) -> Recommendation:
    observed = observations(stores=stores, since=since) if observed is None else observed
    threshold, accepted, errors = lowest_threshold(observed, target)
    visits = to_review = 0
    if threshold is not None:
        visits, to_review = review_load(stores=stores, since=since, threshold=threshold)
    return Recommendation(
        target=target,
        threshold=threshold,
        accepted_events=accepted,
        accepted_errors=errors,
        error_interval=wilson_interval(errors, accepted),
        visits=visits,
        visits_to_review=to_review,
        review_interval=wilson_interval(to_review, visits),
    )
