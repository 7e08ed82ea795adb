"""Store policy API (API.md, "Store policy"): supervisors of a store read and change its policy.

The rules live in `catalog.services.policy` (the same as the calibration page's policy form):
a bad value is refused with 400 `invalid_policy` naming the field, nothing is written, and
every change is recorded (who, when, old → new) as a `PolicyChange`.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.access import store_for_user
from catalog.gates import IsSupervisor
from catalog.models import Store
from catalog.services.policy import (
    MAX_GOLD_EVENTS,
    MAX_GOLD_SHARE,
    MAX_RETENTION_DAYS,
    MAX_SLA_MINUTES,
    MAX_SNIPPET_OVERLAP,
    POLICY_FIELDS,
    store_policy_update,
)
from infra.errors import LoupeError
from infra.openapi import errors


class PolicyOut(serializers.Serializer):
    auto_accept_threshold = serializers.FloatField(min_value=0, max_value=1)
    sla_minutes = serializers.IntegerField(min_value=1, max_value=MAX_SLA_MINUTES)
    audit_rate = serializers.FloatField(min_value=0, max_value=1)
    gold_share = serializers.FloatField(
        min_value=0, max_value=MAX_GOLD_SHARE, help_text="Share of each associate's claims served from gold."
    )
    min_gold_accuracy = serializers.FloatField(
        min_value=0, max_value=1, help_text="Associates whose gold accuracy interval lies wholly below are paused."
    )
    min_gold_events = serializers.IntegerField(
        min_value=1, max_value=MAX_GOLD_EVENTS, help_text="Scored gold events before a pause can happen."
    )
    snippet_overlap = serializers.IntegerField(
        min_value=1, max_value=MAX_SNIPPET_OVERLAP, help_text="Distinct associates per snippet (consensus)."
    )
    media_retention_days = serializers.IntegerField(min_value=1, max_value=MAX_RETENTION_DAYS)


class PolicyPatchIn(PolicyOut):
    """Any subset of the policy's fields."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


def _policy(store: Store) -> dict:
    return {field: getattr(store, field) for field in POLICY_FIELDS}


_NOT_FOUND = errors({404: "`not_found`: no such store, or one you do not supervise."})


class StorePolicyApi(APIView):
    """`GET` / `PATCH /api/v1/stores/{code}/policy/`."""

    permission_classes = [IsSupervisor]

    @extend_schema(
        operation_id="store_policy_read", summary="A store's policy", responses={200: PolicyOut, **_NOT_FOUND}
    )
    def get(self, request: Request, code: str) -> Response:
        return Response(_policy(store_for_user(request.user, code)))

    @extend_schema(
        operation_id="store_policy_update",
        summary="Change some of a store's policy fields (each change recorded)",
        request=PolicyPatchIn,
        responses={
            200: PolicyOut,
            **_NOT_FOUND,
            **errors({400: "`invalid_policy`: a value out of range or not a policy field (`field` names it)."}),
        },
    )
    def patch(self, request: Request, code: str) -> Response:
        store = store_for_user(request.user, code)
        if unknown := sorted(set(request.data) - set(POLICY_FIELDS)):
            raise LoupeError(f"Not a policy field: {', '.join(unknown)}.", code="invalid_policy", field=unknown[0])
        # The service checks every value (one rule for this API and the policy page).
        store_policy_update(store=store, by=request.user, reason="api", **request.data)
        return Response(_policy(store))
