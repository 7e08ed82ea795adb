"""The work API for associates and headless clients (API.md, "Work"): next, heartbeat,
submit, release, and a read-only lookahead. Thin: parse, check access, call the service.

The hot endpoints (next, heartbeat, submit) keep their round trips down without changing
any answer: the token query also reads the caller's roles; next, heartbeat and submit scope
their own statements to the caller's stores and queues (the submit's task lock, the fenced
heartbeat UPDATE, the claim's queue list), so the separate access query runs only when a
request is about to fail, to answer 404 rather than 400, 409 or 204 for what the caller may
not see.

They also read their few body fields with module-level DRF fields (`read_field`) and write
the lease by hand (`lease_body`) instead of instantiating serializers per request: the same
parsing, messages and output, without DRF deep-copying every declared field on each request
(about a tenth of a claim's CPU). The serializers below still describe the bodies for the
schema; tests check that both agree.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.access import queue_for_associate, task_for_associate, uuid_or_404
from annotator.selectors.work import task_lookahead
from annotator.services.work import Lease, task_claim, task_heartbeat, task_release, task_submit
from catalog.gates import IsAssociate
from infra.errors import Conflict, LoupeError, first_validation_error

_UUID = serializers.UUIDField()
_TOKEN = serializers.IntegerField(min_value=0)
_FLAG = serializers.BooleanField()
_JSON = serializers.JSONField()
_DATETIME = serializers.DateTimeField()
_MISSING = object()


def read_field(data, name: str, field: serializers.Field, *, required: bool = False, default=None):
    """`data[name]` parsed and checked by `field` as a serializer would (same messages and
    codes), or `default` when absent; 400 naming the field otherwise."""
    if not isinstance(data, dict):
        raise LoupeError(f"Invalid data. Expected a dictionary, but got {type(data).__name__}.", code="invalid")
    value = data.get(name, _MISSING)
    if value is _MISSING:
        if required:
            raise LoupeError("This field is required.", code="required", field=name)
        return default
    try:
        return field.run_validation(value)
    except ValidationError as error:
        code, detail, _ = first_validation_error(error.detail)
        raise LoupeError(detail, code=code, field=name) from None


def read_about_task(read, *, user, task_id):
    """`read()` of a request about a task. An invalid body about a task outside the caller's
    stores is 404, as if the task had been checked first."""
    try:
        return read()
    except LoupeError:
        task_for_associate(user, task_id)
        raise


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
    """`LeaseOut(lease).data`, written out (tests check they agree)."""
    if lease is None:
        return None
    task = lease.task
    return {
        "task": {
            "id": str(task.pk),
            "kind": task.kind,
            "queue": str(task.queue_id),
            "due_at": _DATETIME.to_representation(task.due_at),
            "payload": task.payload,
        },
        "lease_expires_at": _DATETIME.to_representation(lease.expires_at),
        "token": lease.token,
    }


ERRORS = {
    400: OpenApiResponse(description='Bad input: `{"error": {"code", "detail", "field"}}`.'),
    403: OpenApiResponse(description="Not an associate."),
    404: OpenApiResponse(description="Unknown task or queue, or one of a store you are not granted."),
}
LEASE_LOST = OpenApiResponse(description="409 `lease_lost`: the lease expired and the task went to someone else.")
SUBMIT_LEASE_LOST = OpenApiResponse(
    description="409 `lease_lost`: no live lease (it ran out: a heartbeat revives it while nobody has taken the "
    "task), or the task went to someone else; nothing is stored. 409 `duplicate_submission`: the "
    "`submission_id` was used for another task."
)


class TaskNextApi(APIView):
    """`POST /api/v1/tasks/next/`: lease the next task, or resume the one you hold."""

    permission_classes = [IsAssociate]

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
        queue_id = read_field(request.data, "queue", _UUID)
        # The claim only looks at the caller's queues; a foreign one simply yields nothing.
        lease = task_claim(associate=request.user, queue_id=queue_id)
        if lease is None:
            if queue_id is not None:
                queue_for_associate(request.user, queue_id)  # 404, not 204, for a foreign queue
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(lease_body(lease))


class TaskHeartbeatApi(APIView):
    """`POST /api/v1/tasks/{id}/heartbeat/`: extend your lease (the open page calls it)."""

    permission_classes = [IsAssociate]

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
        token = read_about_task(lambda: read_field(request.data, "token", _TOKEN), user=request.user, task_id=task_id)
        try:
            # Scoped to the caller's stores: a success proves access.
            expires_at = task_heartbeat(associate=request.user, task_id=task_id, token=token)
        except Conflict:
            task_for_associate(request.user, task_id)  # 404, not 409, for a foreign task
            raise
        return Response({"lease_expires_at": _DATETIME.to_representation(expires_at)})


class TaskSubmitApi(APIView):
    """`POST /api/v1/tasks/{id}/submit/`: store your result, once per `submission_id`."""

    permission_classes = [IsAssociate]

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

    @staticmethod
    def read(data) -> dict:
        """`TaskSubmitInputSerializer`'s validated data, read field by field in its order."""
        result = read_field(data, "result", _JSON, required=True)
        if not isinstance(result, dict):
            raise LoupeError("Expected an object.", code="invalid", field="result")
        return {
            "result": result,
            "submission_id": read_field(data, "submission_id", _UUID, required=True),
            "token": read_field(data, "token", _TOKEN),
            "next": read_field(data, "next", _FLAG, default=False),
        }

    class TaskSubmitOutputSerializer(serializers.Serializer):
        annotation = serializers.UUIDField()
        next = LeaseOut(
            allow_null=True, required=False, help_text="Only when `next` was asked: the next lease, or null."
        )

    @extend_schema(
        operation_id="tasks_submit",
        summary="Submit your result for a task you hold",
        request=TaskSubmitInputSerializer,
        responses={200: TaskSubmitOutputSerializer, 409: SUBMIT_LEASE_LOST, **ERRORS},
        tags=["work"],
    )
    def post(self, request: Request, task_id: str) -> Response:
        task_id = uuid_or_404(task_id)
        data = read_about_task(lambda: self.read(request.data), user=request.user, task_id=task_id)
        # The service locks the task within the caller's stores (404 otherwise) before anything else.
        annotation = task_submit(
            associate=request.user,
            task_id=task_id,
            result=data["result"],
            submission_id=data["submission_id"],
            token=data["token"],
        )
        body: dict = {"annotation": str(annotation.pk)}
        if data["next"]:
            # A separate transaction after the submit committed: the associate never holds
            # two leases, and a failed claim cannot undo the stored annotation.
            body["next"] = lease_body(task_claim(associate=request.user, queue_id=annotation.task.queue_id))
        return Response(body)


class TaskReleaseApi(APIView):
    """`POST /api/v1/tasks/{id}/release/`: give a task back; it is not offered to you again."""

    permission_classes = [IsAssociate]

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

    permission_classes = [IsAssociate]

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
