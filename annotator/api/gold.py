"""Gold snippets API: a supervisor makes a gold snippet from an annotation they trust (its
action, sku and boxes become the truth). Gold visits are the validation app's (`api_gold`)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.access import annotation_for_supervisor
from annotator.gold_snippet import gold_snippet_from_annotation
from catalog.gates import IsSupervisor
from infra.openapi import errors


class GoldSnippetCreateApi(APIView):
    """`POST /api/v1/gold/snippets/` `{"annotation": "<id>"}`."""

    permission_classes = [IsSupervisor]

    class GoldSnippetIn(serializers.Serializer):
        annotation = serializers.UUIDField(help_text="A snippet annotation of your store whose answer is right.")

    class GoldSnippetOut(serializers.Serializer):
        task_id = serializers.UUIDField()
        truth = serializers.JSONField(help_text='`{"action", "sku", "boxes"}`.')

    @extend_schema(
        operation_id="gold_snippets_create",
        summary="Make a gold snippet from a snippet annotation (its answer becomes the truth)",
        request=GoldSnippetIn,
        responses={
            201: GoldSnippetOut,
            **errors(
                {
                    404: "`not_found`: no such annotation, or one of a store you do not supervise.",
                    409: "`not_gold_material`: unsure, not a snippet, or gold already.",
                }
            ),
        },
        tags=["gold"],
    )
    def post(self, request: Request) -> Response:
        data = self.GoldSnippetIn(data=request.data)
        data.is_valid(raise_exception=True)
        annotation = annotation_for_supervisor(request.user, data.validated_data["annotation"])
        task = gold_snippet_from_annotation(annotation=annotation, by=request.user)
        return Response({"task_id": str(task.pk), "truth": task.gold.truth}, status=status.HTTP_201_CREATED)
