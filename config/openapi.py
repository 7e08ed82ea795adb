"""What API.md promises beyond the DRF views, added to the OpenAPI schema so that it
describes all of it: the receipt webhooks Loupe sends to billing (OpenAPI 3.1 `webhooks`)
and the plain operations endpoints (`/healthz`, `/readyz`, `/metrics`), which are Django
views that drf-spectacular does not see."""

from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema
from rest_framework import serializers

from validation.schemas import ReceiptOut

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
                "401": {"description": "No or invalid credentials."},
                "403": {"description": "Neither a supervisor nor an integration."},
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
