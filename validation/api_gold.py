"""Gold visits API (API.md v1.1, "Gold tasks and associate quality"): a store's integration or
supervisor sends a visit with its known answer; supervisors and integrations of the store
read its truth and every associate's score. Thin: the service does the checks and writes."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.access import store_for_user
from catalog.gates import IsSupervisorOrIntegration
from infra.openapi import errors
from validation import schemas
from validation.access import gold_visit_for_user
from validation.api import VisitJSONParser, _store_code
from validation.models import Event
from validation.services.gold import gold_visit_create, gold_visit_detail


class TruthEventIn(serializers.Serializer):
    external_id = serializers.CharField(help_text="The event's external_id in this visit.")
    verdict = serializers.ChoiceField(choices=["confirm", "correct", "reject"])
    sku = serializers.CharField(required=False, help_text="With `correct`: the right sku (default the model's).")
    action = serializers.ChoiceField(choices=Event.Action.choices, required=False)
    quantity = serializers.IntegerField(min_value=1, required=False)


class TruthMissedIn(serializers.Serializer):
    sku = serializers.CharField()
    action = serializers.ChoiceField(choices=Event.Action.choices)
    quantity = serializers.IntegerField(min_value=1, required=False)


class TruthIn(serializers.Serializer):
    events = TruthEventIn(many=True, help_text="Every event of the visit, once.")
    missed = TruthMissedIn(many=True, required=False)


class GoldVisitIn(schemas.VisitIn):
    truth = TruthIn(help_text="The known answer the associates' answers are scored against.")


class GoldVisitCreatedOut(serializers.Serializer):
    id = serializers.UUIDField(help_text="The gold visit's id.")
    task_id = serializers.UUIDField()


class GoldAnswerOut(serializers.Serializer):
    annotation = serializers.UUIDField()
    associate = serializers.CharField(help_text="Username.")
    submitted_at = serializers.DateTimeField()
    events = serializers.IntegerField(help_text="Events scored (the visit's, plus missed items either side).")
    correct = serializers.IntegerField()
    accuracy = serializers.FloatField(allow_null=True)
    scores = serializers.JSONField(help_text='Per event: `{"event", "truth", "answer", "right", "why"}`.')


class GoldVisitOut(serializers.Serializer):
    id = serializers.UUIDField()
    external_id = serializers.CharField()
    store = serializers.CharField()
    task_id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    active = serializers.BooleanField()
    truth = serializers.JSONField()
    answers = GoldAnswerOut(many=True)
    events = serializers.IntegerField(help_text="Events scored over every answer.")
    correct = serializers.IntegerField()


class GoldVisitCreateApi(APIView):
    """`POST /api/v1/gold/visits/`: a visit body plus `truth`."""

    permission_classes = [IsSupervisorOrIntegration]
    parser_classes = [VisitJSONParser]

    @extend_schema(
        operation_id="gold_visits_create",
        summary="Add a gold visit (a visit with its known answer) to a store's work",
        request=GoldVisitIn,
        responses={
            201: GoldVisitCreatedOut,
            **errors(
                {
                    404: "`not_found`: no such store, or one you are not granted.",
                    409: "`duplicate_external_id`: the store already has a visit of that external_id.",
                }
            ),
        },
        description="Queued like a pending visit of its store; associates cannot tell it apart. It never "
        "issues a receipt or webhook, nor a label or dataset row. 409 `duplicate_external_id` when the "
        "store already has a visit of that external_id.",
        tags=["gold"],
    )
    def post(self, request: Request) -> Response:
        store = store_for_user(request.user, _store_code(request.data))
        gold = gold_visit_create(store=store, payload=request.data, by=request.user)
        return Response({"id": str(gold.visit.pk), "task_id": str(gold.task.pk)}, status=status.HTTP_201_CREATED)


class GoldVisitDetailApi(APIView):
    """`GET /api/v1/gold/visits/{id}/`: the truth and the scores."""

    permission_classes = [IsSupervisorOrIntegration]

    @extend_schema(
        operation_id="gold_visits_retrieve",
        summary="A gold visit's truth and every associate's score",
        responses={200: GoldVisitOut, **errors({404: "`not_found`: no such gold visit of your stores."})},
        tags=["gold"],
    )
    def get(self, request: Request, visit_id: str) -> Response:
        visit = gold_visit_for_user(request.user, visit_id)
        return Response(GoldVisitOut(gold_visit_detail(visit=visit)).data)
