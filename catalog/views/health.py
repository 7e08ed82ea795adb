"""Liveness and readiness for load balancers and orchestrators: no login, no data.

Both are exempt from CSRF: they take GET only and change nothing, and the CSRF check, which
runs before the view, answered any other method (`QUERY /healthz`) 403 instead of the 405 of
`require_GET`.
"""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET


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
    return JsonResponse({"status": "ok"})
