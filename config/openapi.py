"""What API.md promises beyond what drf-spectacular reads off the DRF views, added to the
OpenAPI schema so that it describes all of it: the error answers every operation can give
(`LoupeAutoSchema`), the receipt webhooks Loupe sends to billing (OpenAPI 3.1 `webhooks`)
and the plain operations endpoints (`/healthz`, `/readyz`, `/metrics`), which are Django
views that drf-spectacular does not see."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema
from rest_framework import permissions, serializers

from catalog.gates import RolePermission
from infra.openapi import errors
from validation.schemas import ReceiptOut

NOT_AUTHENTICATED = "`not_authenticated` or `authentication_failed`: no or invalid credentials."
FORBIDDEN = "`permission_denied`: your role may not do this (or a session without its CSRF token)."
THROTTLED = "`throttled`: too many requests; `Retry-After` says when to try again."
UNAVAILABLE = "`database_unavailable`: the database is away for a moment; `Retry-After` says when to retry."
MALFORMED = "Bad input: `malformed_request` (not JSON), or the code of the first field at fault, with `field`."
TOO_LARGE = "`request_too_large`: the body is larger than the server accepts."
MEDIA_TYPE = "`unsupported_media_type`: a body of another content type than the one declared."


class LoupeAutoSchema(AutoSchema):
    """drf-spectacular's schema plus the error answers that follow from how a view is set up:
    401 where a permission applies, 403 where a role gate (or the session's CSRF check on a
    write) can refuse, 429 where throttles run, 400, 413 and 415 where a request body is
    parsed, and 503 everywhere (the database away). What a view's own logic answers it
    declares itself (`infra.openapi.errors`)."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status, response in errors(self.implied_errors()).items():
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(response, str(status), direction=direction)
        return dict(sorted(responses.items()))

    def implied_errors(self) -> dict[int, str]:
        # Webhooks are drf-spectacular's mocked views of the receiver's side: nothing of
        # Loupe's guards them.
        if type(self.view).__module__ == "drf_spectacular.plumbing":
            return {}
        # Any operation may meet a database that is restarting (config.errors answers 503).
        implied: dict[int, str] = {503: UNAVAILABLE}
        guards = self.view.get_permissions()
        unsafe = self.method not in permissions.SAFE_METHODS
        if any(not isinstance(guard, permissions.AllowAny) for guard in guards):
            implied[401] = NOT_AUTHENTICATED
            if unsafe or any(isinstance(guard, RolePermission) for guard in guards):
                implied[403] = FORBIDDEN
        if self.view.get_throttles():
            implied[429] = THROTTLED
        if unsafe and self.get_request_serializer() is not None:
            implied |= {400: MALFORMED, 413: TOO_LARGE, 415: MEDIA_TYPE}
        return implied


WEBHOOK_DESCRIPTION = (
    "Sent to every billing endpoint of the receipt's store, following Standard Webhooks (the headers "
    "below). Delivery is at least once: anything but a 2xx is retried with exponential backoff for "
    "at least 24 hours, then kept as failed and replayable by a supervisor."
)


WEBHOOK_HEADERS = [
    ("webhook-id", "Stable per receipt: the receiver deduplicates on it."),
    ("webhook-timestamp", "Unix seconds of this attempt."),
    ("webhook-signature", "`v1,<base64 HMAC-SHA256>` of `<id>.<timestamp>.<body>` with the endpoint's secret."),
]


class ReceiptWebhookBody(serializers.Serializer):
    type = serializers.ChoiceField(choices=["receipt.issued", "receipt.corrected"])
    timestamp = serializers.DateTimeField()
    data = ReceiptOut()


def _receipt_webhook(kind: str, summary: str) -> OpenApiWebhook:
    return OpenApiWebhook(
        name=kind,
        decorator=extend_schema(
            summary=summary,
            description=WEBHOOK_DESCRIPTION,
            request=ReceiptWebhookBody,
            responses={200: OpenApiResponse(description="Received: any 2xx ends the delivery.")},
        ),
    )


RECEIPT_ISSUED = _receipt_webhook("receipt.issued", "A visit's first receipt (auto-accepted or validated).")
RECEIPT_CORRECTED = _receipt_webhook("receipt.corrected", "A receipt replacing an earlier one (`supersedes`).")


ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}


def _status(*values: str) -> dict:
    return {
        "type": "object",
        "properties": {"status": {"type": "string", "enum": list(values)}, "detail": {"type": "string"}},
        "required": ["status"],
    }


def _ready() -> dict:
    seconds = {"type": ["integer", "null"], "minimum": 0}
    queue = {
        "type": "object",
        "properties": {
            "workers": {"type": "integer", "minimum": 0, "description": "workers alive now"},
            "last_seen_s": seconds | {"description": "since a worker serving it was last seen"},
            "waiting": {"type": "integer", "minimum": 0, "description": "tasks ready to run"},
            "oldest_waiting_s": seconds | {"description": "age of the oldest of them"},
        },
        "required": ["workers", "last_seen_s", "waiting", "oldest_waiting_s"],
    }
    workers = {
        "type": "object",
        "properties": {
            "alive_within_s": {"type": "integer"},
            "queues": {"type": "object", "additionalProperties": queue},
        },
        "required": ["alive_within_s", "queues"],
    }
    schema = _status("ok")
    return schema | {"properties": schema["properties"] | {"workers": workers}}


OPERATIONS = {
    "/healthz": {
        "get": {
            "operationId": "healthz",
            "summary": "The process is up",
            "tags": ["operations"],
            "security": [],
            "responses": {"200": {"description": "Up.", "content": {"application/json": {"schema": _status("ok")}}}},
        }
    },
    "/readyz": {
        "get": {
            "operationId": "readyz",
            "summary": "The database is reachable",
            "tags": ["operations"],
            "security": [],
            "responses": {
                "200": {
                    "description": "Ready. `workers` reports the background work per task queue; no live "
                    "worker is never a reason for 503 (README, Workers).",
                    "content": {"application/json": {"schema": _ready()}},
                },
                "503": {
                    "description": "The database cannot be reached.",
                    "content": {"application/json": {"schema": _status("unavailable")}},
                },
            },
        }
    },
    "/metrics": {
        "get": {
            "operationId": "metrics_prometheus",
            "summary": "The figures of /api/v1/metrics/ in Prometheus text format",
            "description": "For supervisors and integrations (their stores), and for a scraper presenting "
            "`Authorization: Bearer <METRICS_TOKEN>` (every store).",
            "tags": ["operations"],
            "security": [{"metricsBearer": []}, {"tokenAuth": []}, {"cookieAuth": []}],
            "responses": {
                "200": {
                    "description": "Prometheus exposition format 0.0.4.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "401": {"description": "No or invalid credentials.", "content": ERROR_BODY},
                "403": {"description": "Neither a supervisor nor an integration.", "content": ERROR_BODY},
            },
        }
    },
}


def add_operations(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: the operations endpoints and their bearer scheme,
    and the webhooks' signature headers (`extend_schema` takes no parameters for a webhook)."""
    result["paths"].update(OPERATIONS)
    headers = [
        {"in": "header", "name": name, "required": True, "schema": {"type": "string"}, "description": description}
        for name, description in WEBHOOK_HEADERS
    ]
    for item in result.get("webhooks", {}).values():
        item["post"]["parameters"] = headers
    schemes = result.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["metricsBearer"] = {"type": "http", "scheme": "bearer", "description": "The METRICS_TOKEN setting."}
    return result
