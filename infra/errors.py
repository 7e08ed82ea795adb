"""The one error shape of the API: {"error": {"code", "detail", "field"?}}.

Services raise `LoupeError` (or a subclass) with a stable machine-readable code; the DRF
exception handler below turns it, and DRF's own exceptions, into that shape.
"""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class LoupeError(Exception):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(
        self, detail: str, *, code: str | None = None, field: str | None = None, status_code: int | None = None
    ):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.field = field
        if status_code:
            self.status_code = status_code


class Conflict(LoupeError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class TooLarge(LoupeError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "too_large"


def _writable(text: str) -> str:
    """`text` as UTF-8 can carry it: a message quoting bad input may hold a lone surrogate
    (JSON's `"\ud800"`), which no response can encode; it is written as the escape instead."""
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_body(code: str, detail: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "detail": _writable(detail)}
    if field:
        error["field"] = _writable(field)
    return {"error": error}


def first_validation_error(detail: Any, path: str = "") -> tuple[str, str, str | None]:
    """Walk DRF's nested ValidationError detail to its first leaf.

    Returns (code, message, field) with the field as a path such as `events[2].sku`.
    """
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                sub = path
            elif isinstance(key, int):  # ListSerializer errors are {index: detail}
                sub = f"{path}[{key}]"
            elif path:
                sub = f"{path}.{key}"
            else:
                sub = str(key)
            return first_validation_error(value, sub)
    if isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)) and value:
                return first_validation_error(value, f"{path}[{index}]" if isinstance(value, dict) else path)
            if value:
                return first_validation_error(value, path)
        return "invalid", "Invalid input.", path or None
    code = getattr(detail, "code", None) or "invalid"
    return str(code), str(detail), path or None


_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "malformed_json",
    exceptions.Throttled: "throttled",
    exceptions.NotAcceptable: "not_acceptable",
}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, LoupeError):
        return Response(error_body(exc.code, exc.detail, exc.field), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("request_too_large", "The request body is larger than the server accepts."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        code, detail, field = first_validation_error(exc.detail)
        response.data = error_body(code, detail, field)
        return response
    code = _DRF_CODES.get(type(exc), getattr(exc, "default_code", "error"))
    if isinstance(exc, exceptions.ParseError):
        code = "malformed_request"
    detail = exc.detail if isinstance(getattr(exc, "detail", None), str) else str(getattr(exc, "detail", exc))
    response.data = error_body(code, str(detail))
    return response
