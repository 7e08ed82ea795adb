"""Associate quality for supervisors (API.md v1.1): the list, and reinstating a paused
associate. Thin: the selector reads, the service writes (`annotator.services.gold`)."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.access import associate_for_supervisor
from annotator.selectors.quality import PAGE_SIZE, AssociateQuality, associate_quality
from annotator.services.gold import associate_reinstate
from catalog.access import store_for_user, stores_for_user
from catalog.gates import IsSupervisor
from infra.cursors import cursor_decode, cursor_encode
from infra.errors import LoupeError
from infra.openapi import errors
from infra.text import storable

_CURSOR_SALT = "loupe.associates"


class RateOut(serializers.Serializer):
    events = serializers.IntegerField()
    correct = serializers.IntegerField()
    accuracy = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True, help_text="Wilson 95 % interval, low end; null without events.")
    ci_high = serializers.FloatField(allow_null=True)


class AgreementOut(serializers.Serializer):
    compared = serializers.IntegerField()
    agreed = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)


class PauseOut(serializers.Serializer):
    store = serializers.CharField()
    reason = serializers.CharField()
    paused_at = serializers.DateTimeField()


class SpeedOut(serializers.Serializer):
    flagged = serializers.BooleanField(help_text="Median active time under half the clips' median length.")
    reason = serializers.CharField(allow_blank=True)
    tasks_with_clips = serializers.IntegerField()
    median_active_s = serializers.FloatField(allow_null=True, help_text="On tasks with clips.")
    median_clip_s = serializers.FloatField(allow_null=True)


class AssociateOut(serializers.Serializer):
    username = serializers.CharField()
    stores = serializers.ListField(child=serializers.CharField(), help_text="Of the caller's stores.")
    state = serializers.ChoiceField(choices=["active", "paused"], help_text="Paused in any of the caller's stores.")
    paused = PauseOut(many=True)
    gold = RateOut(help_text="Scored gold events, all time, in the caller's stores.")
    gold_by_store = serializers.DictField(child=RateOut())
    audits = AgreementOut(help_text="Their checked verdicts against later audits of the same events (30 days).")
    agreement = AgreementOut(help_text="Their snippet answers against the merged consensus label (30 days).")
    tasks_done = serializers.IntegerField(help_text="Last 30 days.")
    median_active_s = serializers.FloatField(allow_null=True, help_text="Median active seconds per task, 30 days.")
    speed = SpeedOut()


class AssociatePage(serializers.Serializer):
    results = AssociateOut(many=True)
    next = serializers.CharField(allow_null=True)


def associate_data(person: AssociateQuality) -> dict:
    agreement = {"total": "compared", "hits": "agreed", "share": "rate"}
    return {
        "username": person.username,
        "stores": person.stores,
        "state": person.state,
        "paused": [{"store": code, "reason": reason, "paused_at": at} for code, reason, at in person.pauses],
        "gold": person.gold.as_dict(),
        "gold_by_store": {code: rate.as_dict() for code, rate in person.gold_by_store.items()},
        "audits": person.audits.as_dict(**agreement),
        "agreement": person.agreement.as_dict(**agreement),
        "tasks_done": person.tasks_done,
        "median_active_s": person.median_active_s,
        "speed": {
            "flagged": person.too_fast,
            "reason": person.speed_reason,
            "tasks_with_clips": person.timed_tasks,
            "median_active_s": person.median_active_clip_s,
            "median_clip_s": person.median_clip_s,
        },
    }


class AssociateListApi(APIView):
    """`GET /api/v1/associates/`: the associates of the caller's stores with their quality."""

    permission_classes = [IsSupervisor]

    @extend_schema(
        operation_id="associates_list",
        summary="Associates of your stores: gold accuracy (Wilson 95 %), audits, agreement, speed, pause state",
        parameters=[OpenApiParameter("cursor", str, description="The `next` of the previous page.")],
        responses={200: AssociatePage, **errors({400: "`invalid_cursor`: not a `next` of this list."})},
        tags=["quality"],
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("cursor")
        after = cursor_decode(raw, salt=_CURSOR_SALT, issuer="list") if raw else 0
        people = associate_quality(
            stores=stores_for_user(request.user), after_id=after, limit=PAGE_SIZE + 1, now=timezone.now()
        )
        page = people[:PAGE_SIZE]
        next_cursor = cursor_encode(page[-1].user_id, salt=_CURSOR_SALT) if len(people) > PAGE_SIZE else None
        return Response(AssociatePage({"results": [associate_data(p) for p in page], "next": next_cursor}).data)


class AssociateReinstateApi(APIView):
    """`POST /api/v1/associates/{username}/reinstate/`: end their pause in your stores."""

    permission_classes = [IsSupervisor]

    class ReinstateIn(serializers.Serializer):
        store = serializers.CharField(
            required=False, max_length=32, help_text="Only in this store (default: all yours)."
        )
        comment = serializers.CharField(required=False, allow_blank=True, max_length=500)

    class ReinstateOut(serializers.Serializer):
        username = serializers.CharField()
        state = serializers.ChoiceField(choices=["active", "paused"])
        reinstated = serializers.ListField(child=serializers.CharField(), help_text="Store codes.")

    @extend_schema(
        operation_id="associates_reinstate",
        summary="Reinstate a paused associate",
        request=ReinstateIn,
        responses={
            200: ReinstateOut,
            **errors(
                {
                    404: "`not_found`: no such associate in your stores, or no such store of yours.",
                    409: "`not_paused`.",
                }
            ),
        },
        tags=["quality"],
    )
    def post(self, request: Request, username: str) -> Response:
        associate = associate_for_supervisor(request.user, username)
        if associate is None:
            raise LoupeError("No such associate in your stores.", code="not_found", status_code=404)
        data = self.ReinstateIn(data=request.data)
        data.is_valid(raise_exception=True)
        if "store" in data.validated_data:
            stores = [store_for_user(request.user, storable(data.validated_data["store"], "store"))]
        else:
            stores = list(stores_for_user(request.user))
        pauses = associate_reinstate(
            associate=associate, stores=stores, by=request.user, comment=data.validated_data.get("comment", "")
        )
        codes = sorted({pause.store.code for pause in pauses})
        still = associate.pauses.filter(reinstated_at__isnull=True, store__in=stores_for_user(request.user)).exists()
        return Response(
            {"username": associate.get_username(), "state": "paused" if still else "active", "reinstated": codes}
        )
