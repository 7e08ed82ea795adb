"""The visit panels of the supervisor's console (turnaround and SLA, escalations waiting,
automation and audit error rate, charts), registered with `annotator.console` from `ValidationConfig.ready`: the
console page is the annotator's (`/supervise/`), and the annotator app never imports
validation. The charts panel's data is `validation.views.console.charts_data`.
"""

from django.utils import timezone

from annotator import console
from annotator.selectors.escalations import escalations_waiting
from catalog.models import ControlAction
from validation import metrics
from validation.visit_kind import VISIT_VALIDATION

PRIVACY_ACTIONS = ("media_purged", "shopper_erased")


def turnaround_context(user, stores) -> dict:
    now = timezone.now()
    windows = metrics.turnaround_windows(stores=stores, windows={"hour": now - metrics.HOUR, "day": now - metrics.DAY})
    return windows | {"stores": list(stores)}


def automation_context(user, stores) -> dict:
    now = timezone.now()
    return {"rows": metrics.automation_by_model(stores=stores, since=now - metrics.DAY)}


def privacy_context(user, stores) -> dict:
    """The latest retention purges and erasures of the stores (`validation.services.privacy`)."""
    rows = (
        ControlAction.objects.filter(store__in=stores, action__in=PRIVACY_ACTIONS)
        .select_related("store")
        .order_by("-created_at", "-id")[:10]
    )
    return {"rows": list(rows)}


def escalations_context(user, stores) -> dict:
    """Visits two associates could not tell, waiting in the stores' escalation queues."""
    return {"escalations": escalations_waiting(stores=stores, kind=VISIT_VALIDATION)}


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
        console.Panel("privacy", "Media purged", "validation/privacy.html#purges", privacy_context, 60, 60)
    )
    console.register(
        console.Panel("escalations", "Escalations", "validation/dashboard.html#escalations", escalations_context, 25)
    )
    console.register(console.Panel("charts", "Charts", "validation/dashboard.html#charts", charts_context, 50, 0))
