"""Liveness and readiness for load balancers and orchestrators: no login, no store data.

`/readyz` is about this web process: 200 when the database answers, 503 when not. It also
reports the background work (workers alive per task queue, the age of each queue's oldest
waiting task), but never turns 503 for it: a web server without workers still serves every
page and API call, and a load balancer taking all web servers out because the workers died
would turn a late webhook into an outage. Alert on `workers` instead (README, "Workers").

Both are exempt from CSRF: they take GET only and change nothing, and the CSRF check, which
runs before the view, answered any other method (`QUERY /healthz`) 403 instead of the 405 of
`require_GET`.
"""

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from annotator.selectors.workers import background_work


@csrf_exempt
@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@csrf_exempt
@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not ready"
        return JsonResponse({"status": "unavailable", "detail": exc.__class__.__name__}, status=503)
    try:
        work = background_work()
    except DatabaseError:  # e.g. before `migrate` has created the tables: ready, nothing to say
        return JsonResponse({"status": "ok"})
    queues = {item.queue: item.as_json() for item in work}
    return JsonResponse({"status": "ok", "workers": {"alive_within_s": settings.WORKER_ALIVE_S, "queues": queues}})
