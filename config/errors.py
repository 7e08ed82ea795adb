"""The answer to a request that failed on the server (Django's `handler500`).

A lost database (a restart, a failover, a cut connection) is not a bug of the request: it is
503 with `Retry-After`, so clients and load balancers try again. Anything else stays 500.
The API answers both in the contract's error shape, never an HTML page; pages get a plain
page that needs neither the database nor the session (rendering the usual base template
would ask the database who is signed in).

Django calls this inside the `except` block of the request that failed, so `sys.exc_info()`
is that request's exception, wherever it was raised (a view, DRF, a middleware reading the
session).
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from infra.errors import error_body

RETRY_AFTER_S = 5
API_PREFIX = "/api/"


def database_lost(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def server_error(request: HttpRequest) -> HttpResponse:
    unavailable = database_lost(sys.exc_info()[1])
    status = 503 if unavailable else 500
    if request.path.startswith(API_PREFIX):
        if unavailable:
            body = error_body("database_unavailable", "The database is unavailable for a moment; try again shortly.")
        else:
            body = error_body("server_error", "The server failed to answer this request.")
        response = JsonResponse(body, status=status)
    else:
        page = loader.render_to_string("503.html" if unavailable else "500.html")
        response = HttpResponse(page, status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_S)
    return response
