"""What applying an auto-accept threshold would do, shown before it is applied (the calibration
page's confirm step): the share of visits it would auto-accept, the event error rate among the
judged events it would accept with its Wilson interval, and whether that interval reaches
above the target. Built on `validation.calibration`'s observations, so it counts the same
human judgements the recommendation does."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from catalog.models import Store
from infra.stats import wilson_interval
from validation import calibration
from validation.confidence import event_is_sure


@dataclass(frozen=True)
class ThresholdEffect:
    threshold: float
    current: float
    target: float
    events: int
    errors: int
    error_interval: tuple[float, float] | None
    visits: int
    auto_accepted: int
    auto_interval: tuple[float, float] | None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.events if self.events else None

    @property
    def auto_share(self) -> float | None:
        return self.auto_accepted / self.visits if self.visits else None

    @property
    def above_target(self) -> bool:
        """The error interval's upper bound exceeds the target (or there is no data at all)."""
        return self.error_interval is None or self.error_interval[1] > self.target


def threshold_effect(
    *, stores: QuerySet[Store], since: dt.datetime, threshold: float, current: float, target: float
) -> ThresholdEffect:
    observed = calibration.observations(stores=stores, since=since)
    observed = [o for o in observed if event_is_sure(o.confidence, threshold)]
    errors = sum(1 for o in observed if not o.right)
    visits, to_review = calibration.review_load(stores=stores, since=since, threshold=threshold)
    return ThresholdEffect(
        threshold=threshold,
        current=current,
        target=target,
        events=len(observed),
        errors=errors,
        error_interval=wilson_interval(errors, len(observed)),
        visits=visits,
        auto_accepted=visits - to_review,
        auto_interval=wilson_interval(visits - to_review, visits),
    )
