"""A store's policy (routing: auto-accept threshold, SLA minutes, audit rate; privacy: media
retention days; workforce quality: gold share, gold accuracy floor and its minimum evidence,
snippet overlap) and its history.

Every change is one `PolicyChange` row per field that actually changed, written in the same
transaction as the change, so the history can never disagree with the store.
"""

import math
from typing import Any

from django.db import transaction

from catalog.models import ControlAction, PolicyChange, Store
from infra.errors import LoupeError

POLICY_FIELDS = (
    "auto_accept_threshold",
    "sla_minutes",
    "audit_rate",
    "gold_share",
    "min_gold_accuracy",
    "min_gold_events",
    "snippet_overlap",
    "media_retention_days",
)
MAX_SLA_MINUTES = 24 * 60
MAX_RETENTION_DAYS = 3650
MAX_GOLD_SHARE = 0.5
MAX_GOLD_EVENTS = 1000
MAX_SNIPPET_OVERLAP = 5


def _unit_interval(field: str, value: Any, highest: float = 1.0) -> float:
    if isinstance(value, bool):
        value = None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise LoupeError(
            f"{field} must be a number between 0 and {highest:g}.", code="invalid_policy", field=field
        ) from None
    if not math.isfinite(number) or not 0.0 <= number <= highest:
        raise LoupeError(f"{field} must be between 0 and {highest:g}.", code="invalid_policy", field=field)
    return number


def _whole(field: str, value: Any, highest: int, unit: str) -> int:
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        number = None
    if number is None or not 1 <= number <= highest:
        raise LoupeError(
            f"{field} must be a whole number of {unit} from 1 to {highest}.", code="invalid_policy", field=field
        )
    return number


def _sla_minutes(value: Any) -> int:
    return _whole("sla_minutes", value, MAX_SLA_MINUTES, "minutes")


def policy_check(**changes: Any) -> dict[str, Any]:
    """The changes with their values cleaned, or LoupeError `invalid_policy` naming the field."""
    if unknown := sorted(set(changes) - set(POLICY_FIELDS)):
        raise LoupeError(f"Not a policy field: {', '.join(unknown)}.", code="invalid_policy", field=unknown[0])
    cleaned: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "sla_minutes":
            cleaned[field] = _sla_minutes(value)
        elif field == "media_retention_days":
            cleaned[field] = _whole(field, value, MAX_RETENTION_DAYS, "days")
        elif field == "min_gold_events":
            cleaned[field] = _whole(field, value, MAX_GOLD_EVENTS, "events")
        elif field == "snippet_overlap":
            cleaned[field] = _whole(field, value, MAX_SNIPPET_OVERLAP, "associates")
        elif field == "gold_share":
            cleaned[field] = _unit_interval(field, value, MAX_GOLD_SHARE)
        else:
            cleaned[field] = _unit_interval(field, value)
    return cleaned


@transaction.atomic
def store_policy_update(*, store: Store, by, reason: str = "", **changes: Any) -> list[PolicyChange]:
    """Change some of a store's policy fields; returns the PolicyChange rows written (one per
    field whose value changed; none when nothing changed).

    Checks every value first (nothing is written if one is bad): the threshold, the audit rate
    and `min_gold_accuracy` in [0, 1], `gold_share` in [0, 0.5], `sla_minutes` a whole number
    from 1 to 1440, `media_retention_days` from 1 to 3650, `min_gold_events` from 1 to 1000,
    `snippet_overlap` from 1 to 5. Locks the store row, so two
    supervisors' changes serialize and each records the value it really replaced. The caller
    checks that `by` supervises the store.
    """
    cleaned = policy_check(**changes)
    locked = Store.objects.select_for_update().get(pk=store.pk)
    written = []
    for field, value in cleaned.items():
        old = getattr(locked, field)
        if old == value:
            continue
        setattr(locked, field, value)
        written.append(PolicyChange(store=locked, field=field, old=old, new=value, changed_by=by, reason=reason[:200]))
    if written:
        locked.save(update_fields=[change.field for change in written])
        PolicyChange.objects.bulk_create(written)
        for change in written:
            setattr(store, change.field, change.new)
    return written


def control_record(*, store_id: int, actor, action: str, target: str, old=None, new=None, comment: str = "") -> None:
    """Write one row of the supervisors' audit trail (call inside the action's transaction)."""
    ControlAction.objects.create(
        store_id=store_id, actor=actor, action=action, target=target, old=old, new=new, comment=comment[:500]
    )
