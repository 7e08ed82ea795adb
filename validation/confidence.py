"""When the model is sure: the one home of the auto-accept rule.

An event is *sure* when its confidence is at least the store's `auto_accept_threshold` (equal
counts as sure); a visit is sure when every event is, so a visit with no events is sure too.
Routing decides with it, the validation screen marks the other events "low", and calibration
counts the visits a threshold would send to review with its queryset form.
"""

from django.db.models import Q


def event_is_sure(confidence: float, threshold: float) -> bool:
    return confidence >= threshold


def visit_is_sure(min_confidence: float | None, threshold: float) -> bool:
    """`min_confidence` is the least confident event's, None for a visit with no events."""
    return min_confidence is None or event_is_sure(min_confidence, threshold)


def visits_to_review(threshold: float) -> Q:
    """The visits (by their recorded `min_confidence`) that are not sure at `threshold`."""
    return Q(min_confidence__lt=threshold)
