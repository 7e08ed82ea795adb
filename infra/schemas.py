"""The error body of every API answer (`infra.errors`), as the OpenAPI schema describes it.
Here so that every app's API views declare it (validation re-exports it as before)."""

from rest_framework import serializers


class ErrorDetailOut(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    field = serializers.CharField(required=False)


class ErrorOut(serializers.Serializer):
    error = ErrorDetailOut()
