"""Operations figures for machines: `GET /api/v1/metrics/` (JSON) and `GET /metrics`
(Prometheus text format 0.0.4), the same numbers from the same selectors.

Who may read them: supervisors (their stores) and integrations (their stores: the CV system
reads queue depth as a back-pressure signal), by session or `Authorization: Token <key>`;
and, for `/metrics` only, a scraper presenting `Authorization: Bearer <METRICS_TOKEN>`
(setting from the environment; unset means no bearer access), which sees every store.
"""

import hmac
import json
import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.selectors.queues import store_queue_summaries
from catalog.access import stores_for_user
from catalog.gates import IsSupervisorOrIntegration, holds_any
from catalog.models import Store
from infra.errors import error_body
from validation import metrics


def may_read_metrics(user) -> bool:
    return holds_any(user, IsSupervisorOrIntegration.roles)


def metrics_snapshot(*, stores) -> dict:
    """Queues, turnaround (last hour and day) and automation rate of `stores`."""
    now = timezone.now()
    queues = [
        {
            "id": str(summary.queue.pk),
            "store": summary.queue.store.code,
            "kind": summary.queue.kind,
            "name": summary.queue.name,
            "paused": summary.queue.is_paused,
            "depth": summary.depth,
            "in_progress": summary.in_progress,
            "oldest_waiting_s": None if summary.oldest_waiting_s is None else round(summary.oldest_waiting_s, 1),
            "at_risk": summary.at_risk,
            "breached": summary.breached,
        }
        for summary in store_queue_summaries(stores=stores)
    ]
    windows = metrics.turnaround_windows(stores=stores, windows={"hour": now - metrics.HOUR, "day": now - metrics.DAY})
    hour, day = windows["hour"], windows["day"]
    rate = metrics.automation_rate(stores=stores, since=now - metrics.DAY)
    return {
        "generated_at": now.isoformat(),
        "queues": queues,
        "turnaround_s": {"last_hour": hour.as_dict(), "last_day": day.as_dict()},
        "automation_rate": None if rate is None else round(rate, 4),
    }


class TurnaroundOut(serializers.Serializer):
    count = serializers.IntegerField(help_text="First receipts issued in the window.")
    p50 = serializers.FloatField(
        allow_null=True, help_text="Seconds from exit to first receipt; null without receipts."
    )
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)


class TurnaroundWindowOut(TurnaroundOut):
    """All first receipts of the window, and the same figures split by decision."""

    auto = TurnaroundOut(help_text="Auto-accepted visits.")
    reviewed = TurnaroundOut(help_text="Visits decided by people.")
    inside_sla = serializers.FloatField(allow_null=True, help_text="Share issued inside the SLA, 0 to 1.")


class MetricsQueueOut(serializers.Serializer):
    id = serializers.UUIDField()
    store = serializers.CharField()
    kind = serializers.CharField()
    name = serializers.CharField()
    paused = serializers.BooleanField()
    depth = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    oldest_waiting_s = serializers.FloatField(allow_null=True)
    at_risk = serializers.IntegerField()
    breached = serializers.IntegerField()


class MetricsTurnaroundOut(serializers.Serializer):
    last_hour = TurnaroundWindowOut()
    last_day = TurnaroundWindowOut()


class MetricsOut(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    queues = MetricsQueueOut(many=True)
    turnaround_s = MetricsTurnaroundOut()
    automation_rate = serializers.FloatField(allow_null=True)


class MetricsApi(APIView):
    permission_classes = [IsSupervisorOrIntegration]

    @extend_schema(
        operation_id="metrics",
        summary="Queue depth, turnaround and automation rate of the caller's stores",
        responses={200: MetricsOut},
    )
    def get(self, request: Request) -> Response:
        return Response(metrics_snapshot(stores=stores_for_user(request.user)))


# Prometheus ------------------------------------------------------------------------------


def _label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value) -> str:
    if value is None:
        return "NaN"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN"
    return repr(float(value)) if isinstance(value, float) else str(value)


class _Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, help_text: str, samples: list[tuple[dict, object]]) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for labels, value in samples:
            text = ",".join(f'{key}="{_label(val)}"' for key, val in labels.items())
            self.lines.append(f"{name}{{{text}}} {_number(value)}" if text else f"{name} {_number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def prometheus_text(snapshot: dict) -> str:
    out = _Exposition()
    queue_labels = [({"store": q["store"], "queue": q["name"], "kind": q["kind"]}, q) for q in snapshot["queues"]]
    for field, help_text in (
        ("depth", "Tasks waiting to be claimed."),
        ("in_progress", "Tasks under a live lease."),
        ("oldest_waiting_s", "Age of the oldest waiting task, seconds."),
        ("at_risk", "Open tasks due within the at-risk window."),
        ("breached", "Open tasks past their due time."),
        ("paused", "1 when the queue is paused."),
    ):
        name = "loupe_queue_oldest_waiting_seconds" if field == "oldest_waiting_s" else f"loupe_queue_{field}"
        out.family(name, help_text, [(labels, q[field]) for labels, q in queue_labels])
    windows = {"1h": snapshot["turnaround_s"]["last_hour"], "24h": snapshot["turnaround_s"]["last_day"]}
    # Gauges, not a summary: these are percentiles of a sliding window (the last hour, day),
    # while a summary's `quantile` series come with `_sum` and `_count` counters that only
    # ever grow, which a window's figures do not. So the label is `percentile`, named as in
    # the JSON answer; promtool refuses a `quantile` label outside a summary.
    samples = []
    for window, figures in windows.items():
        for decision, part in (("all", figures), ("auto", figures["auto"]), ("reviewed", figures["reviewed"])):
            for percentile in ("p50", "p95", "p99"):
                samples.append(({"window": window, "decision": decision, "percentile": percentile}, part[percentile]))
    out.family("loupe_turnaround_seconds", "Exit to first receipt in the window, seconds (percentiles).", samples)
    out.family(
        "loupe_receipts",
        "First receipts issued in the window.",
        [({"window": window, "decision": "all"}, figures["count"]) for window, figures in windows.items()],
    )
    out.family(
        "loupe_receipts_inside_sla_ratio",
        "Share of first receipts issued inside the SLA.",
        [({"window": window}, figures["inside_sla"]) for window, figures in windows.items()],
    )
    out.family(
        "loupe_automation_ratio", "Auto-accepted share of visits, last 24 h.", [({}, snapshot["automation_rate"])]
    )
    return out.text()


def _caller(request: HttpRequest):
    """('bearer', None) for the METRICS_TOKEN; ('user', user) for a token or a session; (None, None)."""
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    expected = getattr(settings, "METRICS_TOKEN", "")
    if scheme.lower() == "bearer" and expected and hmac.compare_digest(credential.strip(), expected):
        return "bearer", None
    if scheme.lower() == "token" and credential.strip():
        token = Token.objects.select_related("user").filter(key=credential.strip()).first()
        if token is not None and token.user.is_active:
            return "user", token.user
        return None, None
    if header:
        return None, None
    if request.user.is_authenticated:
        return "user", request.user
    return None, None


# GET only, and nothing changes: exempt from CSRF, whose check (run before the view) answered
# other methods 403 instead of this view's 405.
@csrf_exempt
def prometheus(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    kind, user = _caller(request)
    if kind is None:
        body = error_body("not_authenticated", "Send a supervisor's or integration's token, or the metrics token.")
        return HttpResponse(
            _json(body), status=401, content_type="application/json", headers={"WWW-Authenticate": "Bearer"}
        )
    if kind == "user" and not may_read_metrics(user):
        return HttpResponse(
            _json(error_body("permission_denied", "Not allowed.")), status=403, content_type="application/json"
        )
    stores = Store.objects.all() if kind == "bearer" else stores_for_user(user)
    text = prometheus_text(metrics_snapshot(stores=stores))
    return HttpResponse(text, content_type="text/plain; version=0.0.4; charset=utf-8")


def _json(body: dict) -> str:
    return json.dumps(body)
