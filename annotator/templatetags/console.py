"""Filters of the supervisor's console: durations and shares as people read them."""

from django import template

from annotator.selectors.queues import sla_state as _sla_state

register = template.Library()


@register.filter
def seconds(value) -> str:
    """12.4 → "12 s", 252 → "4 min 12 s", 7500 → "2 h 5 min"; None → "—"."""
    if value is None or value == "":
        return "—"
    total = max(round(float(value)), 0)
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min {total % 60} s"
    return f"{total // 3600} h {total % 3600 // 60} min"


@register.filter
def percent(value, digits: int = 1) -> str:
    """0.0123 → "1.2 %"; None → "—"."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f} %"


@register.filter
def pair_percent(pair) -> str:
    """(agreeing, compared) → "92 % of 25"; no comparisons → "—"."""
    agree, total = pair
    return f"{agree / total * 100:.0f} % of {total}" if total else "—"


@register.filter
def sla_state(due_at, now) -> str:
    """A deadline against `now`: "breached", "at-risk" or "ok" (`annotator.selectors.queues.sla_state`)."""
    return _sla_state(due_at, now=now) if due_at else "ok"
