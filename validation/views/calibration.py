"""The calibration page (how the auto-accept threshold trades automation for errors, and its
recommendation) and the store policy form, for supervisors of the store.
"""

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from annotator.selectors.console import console_cached
from catalog.access import store_for_user, stores_for_user
from catalog.gates import supervisor_required
from catalog.models import PolicyChange
from catalog.services.policy import POLICY_FIELDS, policy_check, store_policy_update
from infra.errors import LoupeError
from validation import calibration
from validation.threshold_effect import threshold_effect

CALIBRATION_WINDOW_DAYS = 30
DEFAULT_TARGET = 0.005


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
    observed, buckets, recommendation, unchecked = console_cached(
        f"calibration-checked:{target!r}", stores=[store], compute=lambda: _calibration(one, target), seconds=60
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
        "unchecked": unchecked,
        "buckets": buckets.get("all", []),
        "versions": sorted(version for version in buckets if version != "all"),
        "recommendation": recommendation,
        "chart": {"reliability": chart},
        "changes": PolicyChange.objects.filter(store=store).select_related("changed_by")[:20],
        "window_days": CALIBRATION_WINDOW_DAYS,
    }
    return render(request, "validation/calibration.html", context, status=status)


def _calibration(stores, target: float) -> tuple[int, dict, calibration.Recommendation, int]:
    """(checked judgements, reliability buckets, recommendation, unchecked confirms left out)
    of the last 30 days: reads a month of labels and their events, so the page caches it for
    a minute (`console_cached`)."""
    since = timezone.now() - dt.timedelta(days=CALIBRATION_WINDOW_DAYS)
    observed = calibration.observations(stores=stores, since=since)
    recommendation = calibration.recommend(stores=stores, since=since, target=target, observed=observed)
    unchecked = calibration.unchecked_confirms(stores=stores, since=since)
    return len(observed), calibration.reliability(observed), recommendation, unchecked


def _refused(request: HttpRequest, error: LoupeError) -> HttpResponse:
    back = request.POST.get("next") or reverse("validation:calibration")
    return render(request, "annotator/supervise/refused.html", {"error": error, "back": back}, status=400)


@require_POST
@supervisor_required
def store_policy(request: HttpRequest, code: str) -> HttpResponse:
    """Edit a store's policy: any of `catalog.services.policy.POLICY_FIELDS` present in the form."""
    store = store_for_user(request.user, code)
    try:
        written = store_policy_update(store=store, by=request.user, **_present(request))
    except LoupeError as error:
        return _refused(request, error)
    messages.success(request, f"{store.code}: {len(written)} policy field(s) changed." if written else "No change.")
    return redirect(f"{reverse('validation:calibration')}?store={store.code}")


def _present(request: HttpRequest) -> dict:
    return {field: request.POST[field] for field in POLICY_FIELDS if request.POST.get(field, "").strip() != ""}


@require_POST
@supervisor_required
def calibration_apply(request: HttpRequest, code: str) -> HttpResponse:
    """Make the recommended threshold the store's (recorded as a PolicyChange), in two steps:
    without `confirm=1` nothing changes and the answer shows what the threshold would do (share
    of visits auto-accepted, expected event error rate and its interval, a warning when the
    interval reaches above the target), with the form that applies it."""
    store = store_for_user(request.user, code)
    try:
        target = _target(request.POST.get("target"))
        if request.POST.get("confirm") != "1":
            # The same check as applying it (policy_check): a bad value is refused before any work.
            threshold = policy_check(auto_accept_threshold=request.POST.get("threshold"))["auto_accept_threshold"]
            since = timezone.now() - dt.timedelta(days=CALIBRATION_WINDOW_DAYS)
            one = stores_for_user(request.user).filter(pk=store.pk)
            effect = threshold_effect(
                stores=one, since=since, threshold=threshold, current=store.auto_accept_threshold, target=target
            )
            context = {"store": store, "effect": effect, "target_percent": round(target * 100, 4)}
            context["window_days"] = CALIBRATION_WINDOW_DAYS
            return render(request, "validation/calibration_confirm.html", context)
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
