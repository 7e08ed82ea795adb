"""The labels feed for training pipelines (API.md, "Training data out")."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.services.labels import MAX_LIMIT, label_data, labels_page
from catalog.access import store_for_user, stores_for_user
from catalog.gates import IsSupervisorOrIntegration
from infra.errors import LoupeError
from infra.openapi import ObjectField, errors

_OBJECT = {"type": "object", "additionalProperties": True}


@extend_schema_field({"oneOf": [_OBJECT, {"type": "array", "items": _OBJECT}, {"type": "null"}]})
class PredictedField(serializers.JSONField):
    """An event's fields (an object), a snippet's predictions (a list) or null: each value
    matches exactly one of the three, as `oneOf` requires (a bare `{}` would match them all)."""


@extend_schema_field({"oneOf": [_OBJECT, {"type": "null"}]})
class HumanField(serializers.JSONField):
    """What the person said (an object), or null."""


class LabelOut(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=["visit_event", "snippet"])
    store = serializers.CharField(help_text="Store code.")
    task = serializers.UUIDField()
    annotation = serializers.UUIDField()
    associate = serializers.IntegerField(help_text="Who labeled it (a user id, never a name).")
    created_at = serializers.DateTimeField()
    model_version = serializers.CharField(help_text="The model whose prediction was judged; blank for snippets.")
    verdict = serializers.CharField(
        help_text="Visit events: `confirm`, `correct`, `reject` or `missed`. Snippets: `annotated`."
    )
    predicted = PredictedField(
        help_text="What the model said (null for a missed event): event fields, or the snippet's predictions.",
    )
    human = HumanField(
        help_text="What the associate said (null for a rejected event): event fields, or "
        "the snippet annotation result.",
    )
    snippet = serializers.UUIDField(allow_null=True)
    event = serializers.UUIDField(allow_null=True, help_text="The visit event (null for missed events and snippets).")
    provenance = ObjectField(help_text="Queue, task purpose, overlap, visit, submission and timing.")
    checked = serializers.BooleanField(
        help_text="A human judgement: the event was opened, or the verdict is `correct`, `reject` or `missed` "
        "(snippets: always). A `confirm` of an event nobody opened is false: the model's word, not a person's."
    )
    source = serializers.ChoiceField(choices=["associate", "consensus", "adjudication", "supervisor"])
    evidence = ObjectField(
        help_text='What the person did with the media: `{"opened", "watched_ms", "frames_viewed"}`; '
        "`{}` when nothing was measured."
    )


class LabelPageOut(serializers.Serializer):
    results = LabelOut(many=True)
    next = serializers.CharField(
        allow_null=True,
        help_text="Cursor after the last label of this page: pass it back for the next page, and keep "
        "it to come back later for labels that arrive after. Null when this page is empty (call "
        "again later with the same cursor).",
    )
    has_more = serializers.BooleanField(help_text="More labels are ready right now after this page.")


def _limit(raw: str | None) -> int:
    if raw is None:
        return MAX_LIMIT
    try:
        return int(raw)
    except ValueError:
        raise LoupeError(f"limit must be between 1 and {MAX_LIMIT}.", code="invalid", field="limit") from None


class LabelListApi(APIView):
    """`GET /api/v1/labels/`: every finished label of the caller's stores, oldest first."""

    permission_classes = [IsSupervisorOrIntegration]

    @extend_schema(
        operation_id="labels_list",
        summary="Training labels, oldest first (incremental feed)",
        description="Validated visit events (confirmed, corrected, rejected, missed) and snippet "
        "annotations with their provenance. Ordered by commit: a label committed after you "
        "received a cursor always comes after that cursor, so pulling with the last `next` "
        "never skips or repeats a label. Only labels of stores granted to the caller.",
        parameters=[
            OpenApiParameter("cursor", str, description="The `next` of the previous page; omit to start."),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": MAX_LIMIT},
                description=f"1 to {MAX_LIMIT}, default {MAX_LIMIT}.",
            ),
            OpenApiParameter("store", str, description="Only this store (its code); one you are granted."),
        ],
        responses={
            200: LabelPageOut,
            **errors(
                {
                    400: "`invalid_cursor` (`field` `cursor`): not a `next` of this feed; `invalid` (`field` "
                    f"`limit`): a limit outside 1 to {MAX_LIMIT}.",
                    404: "`not_found`: no such store, or one you are not granted.",
                }
            ),
        },
        tags=["training data"],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        limit = _limit(params.get("limit"))
        if code := params.get("store"):
            stores = stores_for_user(request.user).filter(pk=store_for_user(request.user, code).pk)
        else:
            stores = stores_for_user(request.user)
        page = labels_page(stores=stores, cursor=params.get("cursor") or None, limit=limit)
        return Response(
            {"results": [label_data(label) for label in page.labels], "next": page.next, "has_more": page.has_more}
        )
