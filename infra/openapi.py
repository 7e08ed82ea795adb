"""Error answers in the OpenAPI schema: one component for the error body (the shape
`infra.errors` writes), and `errors()` for the statuses a view's own logic answers:
`responses={200: LeaseOut, **errors({404: "Unknown task.", 409: "`lease_lost`: ..."})}`.

What follows from how a view is set up (401, 403, 429, and 400/413/415 for a body) is added
by `config.openapi.LoupeAutoSchema`, so that no operation can forget it.
"""

from collections.abc import Mapping

from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers


class ErrorDetailOut(serializers.Serializer):
    code = serializers.CharField(help_text="Stable and machine-readable: `lease_lost`, `invalid_cursor`, ...")
    detail = serializers.CharField(help_text="For people.")
    field = serializers.CharField(
        required=False, help_text="Only when one field is at fault, as a path: `events[2].sku`."
    )


class ErrorOut(serializers.Serializer):
    error = ErrorDetailOut()


def errors(described: Mapping[int, str]) -> dict[int, OpenApiResponse]:
    """Error responses `{status: what it means here}`, each with the error body."""
    return {status: OpenApiResponse(ErrorOut, description=text) for status, text in described.items()}


@extend_schema_field({"type": "object", "additionalProperties": True})
class ObjectField(serializers.JSONField):
    """A JSON object whose keys the view or service checks: declared as an object, so that a
    client is not told `null` or a list would do (a bare JSONField is `{}`, anything)."""

    default_error_messages = {"not_an_object": "Must be a JSON object."}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_an_object")
        return super().to_internal_value(data)
