"""The supervisor's console's chart data (the panels themselves are `validation.console`)."""

import datetime as dt

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from annotator.selectors.console import throughput
from annotator.selectors.queues import queue_depth_series
from catalog.access import stores_for_user
from catalog.gates import supervisor_required
from validation import metrics
from validation.console import sla_line

CHART_WINDOW = dt.timedelta(hours=24)
DEPTH_WINDOW = dt.timedelta(hours=6)


@require_GET
@supervisor_required
def charts_data(request: HttpRequest) -> JsonResponse:
    """The console's chart series (read by static/js/dashboard.js)."""
    stores = stores_for_user(request.user)
    now = timezone.now()
    return JsonResponse(
        {
            "generated_at": now.isoformat(),
            "sla_s": sla_line(stores),
            "turnaround": metrics.turnaround_series(stores=stores, since=now - CHART_WINDOW),
            "depth": queue_depth_series(stores=stores, since=now - DEPTH_WINDOW),
            "associates": [
                {"associate": row.associate, "last_hour": row.last_hour, "last_day": row.last_day}
                for row in throughput(stores=stores)
            ],
        }
    )
