"""The shapes of visit bodies in and out, as DRF serializers.

The input serializers are the one check of a body's shape (types, ranges, required fields;
`validation.services.ingest.visit_check` runs `VisitIn`) and its OpenAPI description;
references to the store's catalog are checked by the ingest service, which owns the store.
They are strict on purpose: a machine client that sends `"quantity": "2"` or a naive
timestamp has a bug we want it to hear about, not a value we guess at. The output serializers exist for the
OpenAPI schema; the API builds its bodies as plain dicts (see `validation.api`).
"""

import datetime as dt
import math

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from infra.openapi import ErrorOut
from validation.models import Event, Visit

MAX_EVENTS = 500
MAX_CANDIDATES = 20
MAX_QUANTITY = 10_000
MAX_BULK_VISITS = 500
# How far ahead of Loupe's clock a timestamp may be (the sender's clock running fast). A
# visit is sent once finished, so anything later is a broken clock or a made-up date, and
# `due_at` (exit + SLA) of year 9999 would not even be a date.
MAX_AHEAD = dt.timedelta(days=1)
# How far back: `settings.VISIT_MAX_AGE_DAYS` (30). Earlier than that is a broken clock, a
# made-up date or a replay of history; its deadline would long be past, so it would jump to
# the head of its queue (earliest deadline first) and stay breached for ever.


class StrictCharField(serializers.CharField):
    """A string and only a string (DRF's CharField turns 42 into "42")."""

    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: no booleans, no strings, no 2.0."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


class StorableChoiceField(serializers.ChoiceField):
    """A choice; text the database cannot take (a NUL, a lone surrogate) is refused first, as
    CharField refuses it: `invalid_choice` quotes the value, and a lone surrogate in the error
    body could not be written out as JSON."""

    # One CharField for its validators: building one per value cost an eighth of a visit check.
    _text = serializers.CharField()

    def to_internal_value(self, data):
        if isinstance(data, str):
            self._text.run_validators(data)
        return super().to_internal_value(data)


@extend_schema_field({"type": "number", "format": "double", "minimum": 0, "maximum": 1})
class UnitIntervalField(serializers.Field):
    """A JSON number in [0, 1]. NaN and infinities are out of range (the API parses the
    `NaN` literal so that the error can name the field)."""

    default_error_messages = {
        "invalid": "A number is required.",
        "out_of_range": "Must be a number between 0 and 1.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        value = float(data)
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            self.fail("out_of_range")
        return value

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.Field):
    """An ISO-8601 timestamp with a UTC offset, returned in UTC, between
    `VISIT_MAX_AGE_DAYS` ago and `MAX_AHEAD` from now (any age when the serializer's context
    says `any_age`: the check of a replay, `validation.services.ingest`)."""

    default_error_messages = {
        "invalid": "Use an ISO-8601 timestamp such as 2026-11-24T10:01:02Z.",
        "naive": "The timestamp needs a UTC offset, such as 2026-11-24T10:01:02Z.",
        # DRF's DateTimeField says this (the snippet upload's `started_at` answers it).
        "overflow": serializers.DateTimeField.default_error_messages["overflow"],
        "in_future": "The timestamp is more than a day in the future.",
        "too_old": "The timestamp is more than {days} days in the past (VISIT_MAX_AGE_DAYS).",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str) or len(data) > 64:
            self.fail("invalid")
        try:
            value = dt.datetime.fromisoformat(data)
        except ValueError:
            self.fail("invalid")
        if value.tzinfo is None or value.utcoffset() is None:
            self.fail("naive")
        try:
            value = value.astimezone(dt.UTC)
        except OverflowError:  # 9999-12-31T23:59:59-14:00 is after the last datetime in UTC
            self.fail("overflow")
        now = timezone.now()
        if value > now + MAX_AHEAD:
            self.fail("in_future")
        if value < now - dt.timedelta(days=settings.VISIT_MAX_AGE_DAYS) and not self.context.get("any_age"):
            self.fail("too_old", days=settings.VISIT_MAX_AGE_DAYS)
        return value

    def to_representation(self, value):
        return value.isoformat()


class CandidateIn(serializers.Serializer):
    sku = StrictCharField(max_length=64)
    score = UnitIntervalField()


class EventIn(serializers.Serializer):
    external_id = StrictCharField(max_length=128)
    action = StorableChoiceField(choices=Event.Action.choices)
    sku = StrictCharField(max_length=64)
    quantity = StrictIntegerField(min_value=1, max_value=MAX_QUANTITY, required=False, default=1)
    confidence = UnitIntervalField()
    occurred_at = AwareDateTimeField()
    camera = StrictCharField(max_length=32, required=False, allow_null=True, default=None)
    snippet = StrictCharField(max_length=128, required=False, allow_null=True, default=None)
    candidates = CandidateIn(many=True, required=False, default=list, max_length=MAX_CANDIDATES)


class VisitIn(serializers.Serializer):
    external_id = StrictCharField(max_length=128)
    store = StrictCharField(max_length=32)
    shopper = StrictCharField(max_length=128)
    entered_at = AwareDateTimeField()
    exited_at = AwareDateTimeField()
    model_version = StrictCharField(max_length=64)
    # The service refuses more than MAX_EVENTS with `too_many_events` before getting here.
    events = EventIn(many=True, max_length=MAX_EVENTS)

    def validate(self, attrs):
        if attrs["exited_at"] < attrs["entered_at"]:
            raise serializers.ValidationError(
                {"exited_at": serializers.ErrorDetail("exited_at is before entered_at.", code="before_entered_at")}
            )
        return attrs


class BulkVisitsIn(serializers.Serializer):
    """For the schema: the view hands each item to the single visit's checks on its own, so that
    one bad visit answers in its own result instead of failing the request."""

    visits = serializers.ListField(child=VisitIn(), max_length=MAX_BULK_VISITS)


# --- Output shapes (OpenAPI only) ---------------------------------------------------------


class CartLineOut(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    price_minor = serializers.IntegerField()


class ReceiptLineOut(CartLineOut):
    total_minor = serializers.IntegerField()


class ReceiptOut(serializers.Serializer):
    id = serializers.UUIDField()
    visit = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=["receipt.issued", "receipt.corrected"])
    lines = ReceiptLineOut(many=True)
    total_minor = serializers.IntegerField()
    currency = serializers.CharField()
    issued_at = serializers.DateTimeField()
    supersedes = serializers.UUIDField(allow_null=True)


class VisitIngestedOut(serializers.Serializer):
    id = serializers.UUIDField()
    external_id = serializers.CharField()
    status = serializers.ChoiceField(choices=Visit.Status.choices)
    due_at = serializers.DateTimeField(allow_null=True)
    task_id = serializers.UUIDField(allow_null=True)
    receipt = ReceiptOut(allow_null=True)


class CorrectionOut(serializers.Serializer):
    sku = serializers.CharField()
    delta = serializers.IntegerField()
    reason = serializers.CharField()
    event = serializers.UUIDField(allow_null=True)


class VisitOut(VisitIngestedOut):
    store = serializers.CharField()
    shopper = serializers.CharField(required=False, help_text="Only shown to integrations.")
    entered_at = serializers.DateTimeField()
    exited_at = serializers.DateTimeField()
    model_version = serializers.CharField()
    decision = serializers.ChoiceField(choices=Visit.Decision.choices)
    threshold = serializers.FloatField()
    min_confidence = serializers.FloatField(allow_null=True)
    predicted_cart = CartLineOut(many=True)
    final_cart = CartLineOut(many=True, allow_null=True)
    corrections = CorrectionOut(many=True)


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="BulkResultBody",
        serializers=[VisitIngestedOut, ErrorOut],
        resource_type_field_name=None,
    )
)
class BulkResultBodyField(serializers.JSONField):
    """What POST /api/v1/visits/ would have answered: the visit, or an error."""


class BulkResultOut(serializers.Serializer):
    external_id = serializers.CharField(allow_null=True, help_text="The item's, when it had a usable one.")
    status_code = serializers.IntegerField(help_text="What POST /api/v1/visits/ would have answered: 200, 201 or 4xx.")
    body = BulkResultBodyField()


class BulkVisitsOut(serializers.Serializer):
    results = BulkResultOut(many=True)
