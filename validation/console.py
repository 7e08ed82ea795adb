"""The visit panels of the supervisor's console (turnaround and SLA, escalations waiting,
automation and audit error rate, charts), registered with `annotator.console` from `ValidationConfig.ready`: the
console page is the annotator's (`/supervise/`), and the annotator app never imports
validation. The charts panel's data is `validation.views.console.charts_data`.
"""

from django.utils import timezone

from annotator import console
from annotator.selectors.escalations import escalations_waiting
from validation import metrics


def turnaround_context(user, stores) -> dict:
    now = timezone.now()
    windows = metrics.turnaround_windows(stores=stores, windows={"hour": now - metrics.HOUR, "day": now - metrics.DAY})
    return windows | {"stores": list(stores)}


def automation_context(user, stores) -> dict:
    now = timezone.now()
    return {"rows": metrics.automation_by_model(stores=stores, since=now - metrics.DAY)}


def escalations_context(user, stores) -> dict:
    """Visits two associates could not tell, waiting in the stores' escalation queues."""
    return {"escalations": escalations_waiting(stores=stores)}


def charts_context(user, stores) -> dict:
    return {"sla_minutes": sla_line(stores)}


def sla_line(stores) -> float | None:
    """The SLA line of the turnaround chart: the strictest SLA of the stores, in seconds."""
    values = [store.sla_minutes for store in stores]
    return min(values) * 60.0 if values else None


def register_panels() -> None:
    console.register(
        console.Panel("turnaround", "Turnaround", "validation/dashboard.html#turnaround", turnaround_context, 20)
    )
    console.register(
        console.Panel("automation", "Automation", "validation/dashboard.html#automation", automation_context, 30)
    )
    console.register(
        console.Panel("escalations", "Escalations", "validation/dashboard.html#escalations", escalations_context, 25)
    )
    console.register(console.Panel("charts", "Charts", "validation/dashboard.html#charts", charts_context, 50, 0))
