"""The work API for associates and headless clients (API.md, "Work"): next, heartbeat,
submit, release, and a read-only lookahead. Thin: parse, check access, call the service.

The hot endpoints (next, heartbeat, submit) keep their round trips down without changing
any answer: the token query also reads the caller's roles; next, heartbeat and submit scope
their own statements to the caller's stores and queues (the submit's task lock, the fenced
heartbeat UPDATE, the claim's queue list), so the separate access query runs only when a
request is about to fail, to answer 404 rather than 400, 409 or 204 for what the caller may
not see.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.access import queue_for_associate, task_for_associate, uuid_or_404
from annotator.selectors import task_lookahead
from annotator.services.work import Lease, task_claim, task_heartbeat, task_release, task_submit
from catalog import roles
from catalog.errors import Conflict, LoupeError

# The project's authentication classes, with the roles read in the token query.
WORK_AUTHENTICATION = [roles.RoleTokenAuthentication, SessionAuthentication]


class IsAssociate(BasePermission):
    def has_permission(self, request, view) -> bool:
        return roles.is_associate(request.user)


def valid_input(serializer: serializers.Serializer, *, user, task_id) -> dict:
    """The validated input of a request about a task. An invalid body about a task outside
    the caller's stores is 404, as if the task had been checked first."""
    if not serializer.is_valid():
        task_for_associate(user, task_id)
        serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class TaskOut(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField(help_text="`visit_validation` or `snippet_annotation`.")
    queue = serializers.UUIDField(source="queue_id")
    due_at = serializers.DateTimeField()
    payload = serializers.JSONField(help_text="What a client needs to produce a result; see API.md per kind.")


class LeaseOut(serializers.Serializer):
    task = TaskOut()
    lease_expires_at = serializers.DateTimeField(source="expires_at", help_text="By the database clock.")
    token = serializers.IntegerField(
        help_text="Fencing token of this lease. Optional in heartbeat/submit/release: when sent, a "
        "request from an older lease of the same slot is refused with 409 `lease_lost`."
    )


class TaskPreviewOut(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    queue = serializers.UUIDField()
    due_at = serializers.DateTimeField()
    payload = serializers.JSONField(help_text="The task's payload without media URLs.")


def lease_body(lease: Lease | None) -> dict | None:
    return LeaseOut(lease).data if lease is not None else None


ERRORS = {
    400: OpenApiResponse(description='Bad input: `{"error": {"code", "detail", "field"}}`.'),
    403: OpenApiResponse(description="Not an associate."),
    404: OpenApiResponse(description="Unknown task or queue, or one of a store you are not granted."),
}
LEASE_LOST = OpenApiResponse(description="409 `lease_lost`: the lease expired and the task went to someone else.")


class TaskNextApi(APIView):
    """`POST /api/v1/tasks/next/`: lease the next task, or resume the one you hold."""

    authentication_classes = WORK_AUTHENTICATION
    permission_classes = [IsAuthenticated, IsAssociate]

    class TaskNextInputSerializer(serializers.Serializer):
        queue = serializers.UUIDField(required=False, help_text="Claim from this queue only.")

    @extend_schema(
        operation_id="tasks_next",
        summary="Claim the next task (or resume the one you hold)",
        request=TaskNextInputSerializer,
        responses={
            200: LeaseOut,
            204: OpenApiResponse(description="Nothing is available for you now."),
            **ERRORS,
        },
        tags=["work"],
    )
    def post(self, request: Request) -> Response:
        data = self.TaskNextInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        queue_id = data.validated_data.get("queue")
        # The claim only looks at the caller's queues; a foreign one simply yields nothing.
        lease = task_claim(associate=request.user, queue_id=queue_id)
        if lease is None:
            if queue_id is not None:
                queue_for_associate(request.user, queue_id)  # 404, not 204, for a foreign queue
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(lease_body(lease))


class TaskHeartbeatApi(APIView):
    """`POST /api/v1/tasks/{id}/heartbeat/`: extend your lease (the open page calls it)."""

    authentication_classes = WORK_AUTHENTICATION
    permission_classes = [IsAuthenticated, IsAssociate]

    class TaskHeartbeatInputSerializer(serializers.Serializer):
        token = serializers.IntegerField(required=False, min_value=0)

    class TaskHeartbeatOutputSerializer(serializers.Serializer):
        lease_expires_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="tasks_heartbeat",
        summary="Extend your lease on a task",
        request=TaskHeartbeatInputSerializer,
        responses={200: TaskHeartbeatOutputSerializer, 409: LEASE_LOST, **ERRORS},
        tags=["work"],
    )
    def post(self, request: Request, task_id: str) -> Response:
        task_id = uuid_or_404(task_id)
        data = valid_input(self.TaskHeartbeatInputSerializer(data=request.data), user=request.user, task_id=task_id)
        try:
            # Scoped to the caller's stores: a success proves access.
            expires_at = task_heartbeat(associate=request.user, task_id=task_id, token=data.get("token"))
        except Conflict:
            task_for_associate(request.user, task_id)  # 404, not 409, for a foreign task
            raise
        return Response(self.TaskHeartbeatOutputSerializer({"lease_expires_at": expires_at}).data)


class TaskSubmitApi(APIView):
    """`POST /api/v1/tasks/{id}/submit/`: store your result, once per `submission_id`."""

    authentication_classes = WORK_AUTHENTICATION
    permission_classes = [IsAuthenticated, IsAssociate]

    class TaskSubmitInputSerializer(serializers.Serializer):
        result = serializers.JSONField(help_text="The kind's result (API.md).")
        submission_id = serializers.UUIDField(help_text="Chosen by the client; a retry with the same id is safe.")
        token = serializers.IntegerField(required=False, min_value=0)
        next = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Also claim the next task after this submit commits, and return it as `next` "
            "(saves the client a round trip; never two leases at once).",
        )

        def validate_result(self, value):
            if not isinstance(value, dict):
                raise serializers.ValidationError("Expected an object.")
            return value

    class TaskSubmitOutputSerializer(serializers.Serializer):
        annotation = serializers.UUIDField()
        next = LeaseOut(
            allow_null=True, required=False, help_text="Only when `next` was asked: the next lease, or null."
        )

    @extend_schema(
        operation_id="tasks_submit",
        summary="Submit your result for a task you hold",
        request=TaskSubmitInputSerializer,
        responses={200: TaskSubmitOutputSerializer, 409: LEASE_LOST, **ERRORS},
        tags=["work"],
    )
    def post(self, request: Request, task_id: str) -> Response:
        task_id = uuid_or_404(task_id)
        data = valid_input(self.TaskSubmitInputSerializer(data=request.data), user=request.user, task_id=task_id)
        # The service locks the task within the caller's stores (404 otherwise) before anything else.
        annotation = task_submit(
            associate=request.user,
            task_id=task_id,
            result=data["result"],
            submission_id=data["submission_id"],
            token=data.get("token"),
        )
        body: dict = {"annotation": str(annotation.pk)}
        if data["next"]:
            # A separate transaction after the submit committed: the associate never holds
            # two leases, and a failed claim cannot undo the stored annotation.
            body["next"] = lease_body(task_claim(associate=request.user, queue_id=annotation.task.queue_id))
        return Response(body)


class TaskReleaseApi(APIView):
    """`POST /api/v1/tasks/{id}/release/`: give a task back; it is not offered to you again."""

    authentication_classes = WORK_AUTHENTICATION
    permission_classes = [IsAuthenticated, IsAssociate]

    class TaskReleaseInputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500, allow_blank=True, help_text="Why (shown to supervisors).")
        token = serializers.IntegerField(required=False, min_value=0)

    @extend_schema(
        operation_id="tasks_release",
        summary="Release (skip) a task you hold",
        request=TaskReleaseInputSerializer,
        responses={200: OpenApiResponse(description="Released: `{}`."), 409: LEASE_LOST, **ERRORS},
        tags=["work"],
    )
    def post(self, request: Request, task_id: str) -> Response:
        task = task_for_associate(request.user, task_id)
        data = self.TaskReleaseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task_release(
            associate=request.user,
            task_id=task.pk,
            reason=data.validated_data["reason"],
            token=data.validated_data.get("token"),
        )
        return Response({})


class TaskLookaheadApi(APIView):
    """`GET /api/v1/tasks/lookahead/`: preview what you would likely get next, without a lease."""

    authentication_classes = WORK_AUTHENTICATION
    permission_classes = [IsAuthenticated, IsAssociate]

    class TaskLookaheadOutputSerializer(serializers.Serializer):
        results = TaskPreviewOut(many=True)

    @extend_schema(
        operation_id="tasks_lookahead",
        summary="Preview the next tasks without leasing them",
        description="For prefetching: the payloads (without media URLs) of the tasks a claim would "
        "most likely return after the one you hold. Nothing is leased, so another associate may "
        "take them first.",
        parameters=[
            OpenApiParameter("queue", str, description="Queue id."),
            OpenApiParameter("limit", int, description="1 to 5, default 1."),
        ],
        responses={200: TaskLookaheadOutputSerializer, **ERRORS},
        tags=["work"],
    )
    def get(self, request: Request) -> Response:
        queue = None
        if queue_id := request.query_params.get("queue"):
            queue = queue_for_associate(request.user, queue_id)
        try:
            limit = int(request.query_params.get("limit", "1"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 5:
            raise LoupeError("Use a limit from 1 to 5.", field="limit")
        previews = task_lookahead(associate=request.user, queue=queue, limit=limit)
        return Response(self.TaskLookaheadOutputSerializer({"results": previews}).data)
