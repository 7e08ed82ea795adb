"""Shopper privacy API (API.md, "Shopper privacy"): a store's integration erases a shopper;
supervisors read who viewed which media of a visit."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.access import store_for_user
from catalog.gates import IsIntegration, IsSupervisor
from infra.cursors import cursor_decode, cursor_encode
from infra.errors import LoupeError
from infra.openapi import errors
from validation.access import visit_for_user
from validation.selectors import visit_media_views
from validation.services.privacy import shopper_erase

_CURSOR_SALT = "loupe.media-views"
PAGE_SIZE = 100


class ShopperEraseApi(APIView):
    """`POST /api/v1/shoppers/erase/`: forget a shopper of the caller's store."""

    permission_classes = [IsIntegration]

    class EraseIn(serializers.Serializer):
        store = serializers.CharField(max_length=32, help_text="Store code.")
        shopper = serializers.CharField(min_length=1, max_length=128, help_text="The store's shopper token.")

    class EraseOut(serializers.Serializer):
        visits = serializers.IntegerField(help_text="Visits whose token was replaced.")

    @extend_schema(
        operation_id="shoppers_erase",
        summary="Erase a shopper: tokens replaced, snippets purged, labels out of training data",
        request=EraseIn,
        responses={202: EraseOut, **errors({404: "`not_found`: no such store, or one you are not granted."})},
    )
    def post(self, request: Request) -> Response:
        data = self.EraseIn(data=request.data)
        data.is_valid(raise_exception=True)
        store = store_for_user(request.user, data.validated_data["store"])
        visits = shopper_erase(store=store, shopper=data.validated_data["shopper"], by=request.user, now=timezone.now())
        return Response({"visits": visits}, status=status.HTTP_202_ACCEPTED)


class MediaViewOut(serializers.Serializer):
    user = serializers.CharField(help_text="Username of the viewer.")
    snippet = serializers.UUIDField()
    snippet_external_id = serializers.CharField()
    what = serializers.ChoiceField(choices=["video", "poster", "thumbnail"])
    byte_range = serializers.CharField(allow_blank=True)
    task = serializers.UUIDField(allow_null=True, help_text="The task whose lease let them see it, if any.")
    viewed_at = serializers.DateTimeField()


class MediaViewPage(serializers.Serializer):
    results = MediaViewOut(many=True)
    next = serializers.CharField(allow_null=True)


def _cursor(raw: str | None) -> int:
    return cursor_decode(raw, salt=_CURSOR_SALT, issuer="list") if raw else 0


class MediaViewListApi(APIView):
    """`GET /api/v1/media-views/?visit=<id>`: every view of the visit's snippet media, oldest first."""

    permission_classes = [IsSupervisor]

    @extend_schema(
        operation_id="media_views_list",
        summary="Who viewed which media of a visit, and when",
        parameters=[
            OpenApiParameter("visit", str, required=True, description="The visit's id."),
            OpenApiParameter("cursor", str, description="The `next` of the previous page."),
        ],
        responses={
            200: MediaViewPage,
            **errors(
                {
                    400: "`invalid` (`field` `visit`): no visit named; `invalid_cursor`: not a `next` of this list.",
                    404: "`not_found`: no such visit, or one of a store you do not supervise.",
                }
            ),
        },
    )
    def get(self, request: Request) -> Response:
        visit_id = request.query_params.get("visit")
        if not visit_id:
            raise LoupeError("Give the visit's id.", field="visit")
        visit = visit_for_user(request.user, visit_id)
        after = _cursor(request.query_params.get("cursor"))
        rows = list(visit_media_views(visit=visit).filter(pk__gt=after)[: PAGE_SIZE + 1])
        page = rows[:PAGE_SIZE]
        return Response(
            {
                "results": [
                    {
                        "user": view.user.username,
                        "snippet": str(view.snippet_id),
                        "snippet_external_id": view.snippet.external_id,
                        "what": view.what,
                        "byte_range": view.byte_range,
                        "task": str(view.task_id) if view.task_id else None,
                        "viewed_at": serializers.DateTimeField().to_representation(view.viewed_at),
                    }
                    for view in page
                ],
                "next": cursor_encode(page[-1].pk, salt=_CURSOR_SALT) if len(rows) > PAGE_SIZE else None,
            }
        )
