"""The visit side of the supervisor's console: its panels (registered with
`annotator.console`), the chart data, the calibration page and the store policy form.

The console page itself is the annotator's (`/supervise/`); this module contributes the
turnaround/SLA, automation/error-rate and chart panels to it, so the annotator app never
imports validation.
"""

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from annotator import console
from annotator.selectors.console import console_cached, throughput
from annotator.selectors.queues import queue_depth_series
from annotator.views.supervise import supervisor_required
from catalog.access import store_for_user, stores_for_user
from catalog.models import PolicyChange
from catalog.services.policy import store_policy_update
from infra.errors import LoupeError
from validation import calibration, metrics

CHART_WINDOW = dt.timedelta(hours=24)
DEPTH_WINDOW = dt.timedelta(hours=6)
CALIBRATION_WINDOW_DAYS = 30
DEFAULT_TARGET = 0.005


def turnaround_context(user, stores) -> dict:
    now = timezone.now()
    windows = metrics.turnaround_windows(stores=stores, windows={"hour": now - metrics.HOUR, "day": now - metrics.DAY})
    return windows | {"stores": list(stores)}


def automation_context(user, stores) -> dict:
    now = timezone.now()
    return {"rows": metrics.automation_by_model(stores=stores, since=now - metrics.DAY)}


def charts_context(user, stores) -> dict:
    return {"sla_minutes": _sla_line(stores)}


def _sla_line(stores) -> float | None:
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
    console.register(console.Panel("charts", "Charts", "validation/dashboard.html#charts", charts_context, 50, 0))


@require_GET
@supervisor_required
def charts_data(request: HttpRequest) -> JsonResponse:
    """The console's chart series (read by static/js/dashboard.js)."""
    stores = stores_for_user(request.user)
    now = timezone.now()
    return JsonResponse(
        {
            "generated_at": now.isoformat(),
            "sla_s": _sla_line(stores),
            "turnaround": metrics.turnaround_series(stores=stores, since=now - CHART_WINDOW),
            "depth": queue_depth_series(stores=stores, since=now - DEPTH_WINDOW),
            "associates": [
                {"associate": row.associate, "last_hour": row.last_hour, "last_day": row.last_day}
                for row in throughput(stores=stores)
            ],
        }
    )


def _target(value: str | None) -> float:
    """A target error rate typed as a percentage ("0.5" → 0.005)."""
    try:
        percent = float(value) if value not in (None, "") else DEFAULT_TARGET * 100
    except ValueError:
        raise LoupeError("The target is a percentage, e.g. 0.5.", code="invalid_target", field="target") from None
    if not 0 < percent < 100:
        raise LoupeError("The target lies between 0 and 100 %.", code="invalid_target", field="target")
    return percent / 100


@require_GET
@supervisor_required
def calibration_page(request: HttpRequest) -> HttpResponse:
    stores = list(stores_for_user(request.user))
    if not stores:
        return render(request, "validation/calibration.html", {"stores": []})
    code = request.GET.get("store") or stores[0].code
    store = store_for_user(request.user, code)
    status = 200
    try:
        target = _target(request.GET.get("target"))
        error = None
    except LoupeError as exc:
        target, error, status = DEFAULT_TARGET, exc, 400
    one = stores_for_user(request.user).filter(pk=store.pk)
    observed, buckets, recommendation = console_cached(
        f"calibration:{target!r}", stores=[store], compute=lambda: _calibration(one, target), seconds=60
    )
    chart = {
        version: [
            {"confidence": b.mean_confidence, "accuracy": b.accuracy, "n": b.n, "low": b.low, "high": b.high}
            for b in rows
            if b.n
        ]
        for version, rows in buckets.items()
    }
    context = {
        "stores": stores,
        "store": store,
        "target_percent": round(target * 100, 4),
        "error": error,
        "observed": observed,
        "buckets": buckets.get("all", []),
        "versions": sorted(version for version in buckets if version != "all"),
        "recommendation": recommendation,
        "chart": {"reliability": chart},
        "changes": PolicyChange.objects.filter(store=store).select_related("changed_by")[:20],
        "window_days": CALIBRATION_WINDOW_DAYS,
    }
    return render(request, "validation/calibration.html", context, status=status)


def _calibration(stores, target: float) -> tuple[int, dict, calibration.Recommendation]:
    """(judged events, reliability buckets, recommendation) of the last 30 days: reads a
    month of labels and their events, so the page caches it for a minute (`console_cached`)."""
    since = timezone.now() - dt.timedelta(days=CALIBRATION_WINDOW_DAYS)
    observed = calibration.observations(stores=stores, since=since)
    recommendation = calibration.recommend(stores=stores, since=since, target=target, observed=observed)
    return len(observed), calibration.reliability(observed), recommendation


def _refused(request: HttpRequest, error: LoupeError) -> HttpResponse:
    back = request.POST.get("next") or reverse("validation:calibration")
    return render(request, "annotator/supervise/refused.html", {"error": error, "back": back}, status=400)


@require_POST
@supervisor_required
def store_policy(request: HttpRequest, code: str) -> HttpResponse:
    """Edit a store's routing policy: any of auto_accept_threshold, sla_minutes, audit_rate."""
    store = store_for_user(request.user, code)
    try:
        written = store_policy_update(store=store, by=request.user, **_present(request))
    except LoupeError as error:
        return _refused(request, error)
    messages.success(request, f"{store.code}: {len(written)} policy field(s) changed." if written else "No change.")
    return redirect(f"{reverse('validation:calibration')}?store={store.code}")


def _present(request: HttpRequest) -> dict:
    return {
        field: request.POST[field]
        for field in ("auto_accept_threshold", "sla_minutes", "audit_rate")
        if request.POST.get(field, "").strip() != ""
    }


@require_POST
@supervisor_required
def calibration_apply(request: HttpRequest, code: str) -> HttpResponse:
    """One click: make the recommended threshold the store's (recorded as a PolicyChange)."""
    store = store_for_user(request.user, code)
    try:
        target = _target(request.POST.get("target"))
        written = store_policy_update(
            store=store,
            by=request.user,
            reason=f"calibration: target event error rate ≤ {target * 100:g} %",
            auto_accept_threshold=request.POST.get("threshold"),
        )
    except LoupeError as error:
        return _refused(request, error)
    done = f"{store.code}: the auto-accept threshold is now {store.auto_accept_threshold:g}."
    messages.success(request, done if written else "No change.")
    return redirect(f"{reverse('validation:calibration')}?store={store.code}&target={target * 100:g}")
