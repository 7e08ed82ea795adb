"""A supervisor's review through the API (API.md, "Review that reaches people"): reject an
annotation with a comment. The same service as the console's reject button."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.access import annotation_for_supervisor
from annotator.services.review import COMMENT_MAX, annotation_reject
from catalog.gates import IsSupervisor
from infra.openapi import errors


class StrictText(serializers.CharField):
    """A CharField that takes strings only (DRF's turns 12 into "12")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class AnnotationRejectApi(APIView):
    """`POST /api/v1/annotations/{id}/reject/`: the task goes back to its queue for a different
    associate; the rejected associate and the next one read the comment."""

    permission_classes = [IsSupervisor]

    class RejectIn(serializers.Serializer):
        # Checked by the service (required, at most COMMENT_MAX characters, storable).
        comment = StrictText(allow_blank=True, trim_whitespace=False, help_text=f"Why; 1 to {COMMENT_MAX} characters.")

    class RejectOut(serializers.Serializer):
        annotation = serializers.UUIDField()
        task = serializers.UUIDField()
        status = serializers.CharField(help_text="`rejected`.")
        comment = StrictText()

    @extend_schema(
        operation_id="annotations_reject",
        request=RejectIn,
        responses={
            200: RejectOut,
            **errors(
                {
                    400: "`comment_required`, `comment_too_long` or unstorable text (`field` `comment`); "
                    "`malformed_request`: not JSON.",
                    404: "`not_found`: no such annotation, or one of a store you do not supervise.",
                    409: "`already_rejected`.",
                }
            ),
        },
    )
    def post(self, request: Request, annotation_id: str) -> Response:
        annotation = annotation_for_supervisor(request.user, annotation_id)
        data = self.RejectIn(data=request.data)
        data.is_valid(raise_exception=True)
        comment = data.validated_data["comment"]
        annotation_reject(supervisor=request.user, annotation=annotation, comment=comment)
        rejection = annotation.rejection
        body = {
            "annotation": str(annotation.pk),
            "task": str(annotation.task_id),
            "status": "rejected",
            "comment": rejection.comment,
        }
        return Response(self.RejectOut(body).data)
