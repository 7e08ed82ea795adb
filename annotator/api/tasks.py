"""The work API for associates and headless clients (API.md, "Work"): next, heartbeat,
submit, release, and a read-only lookahead. Thin: parse with the view's input serializer (the
one shape of each body, which also feeds the OpenAPI schema), call the service, answer.

Next, heartbeat and submit scope their own statements to the caller's stores and queues, so
the separate access query runs only when a request is about to fail, to answer 404 rather
than 400, 409 or 204 for what the caller may not see.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.access import queue_for_associate, task_for_associate, uuid_or_404
from annotator.selectors.work import task_lookahead
from annotator.services.submit import task_release, task_submit
from annotator.services.work import (
    RELEASE_REASON_MAX,
    TOKEN_MAX,
    AssociatePaused,
    task_claim,
    task_claim_next,
    task_heartbeat,
)
from catalog.gates import IsAssociateOrSupervisor
from infra.errors import Conflict, LoupeError
from infra.openapi import ObjectField, errors


def validated(serializer_class: type[serializers.Serializer], request: Request, *, task_id=None) -> dict:
    """The request's body as `serializer_class` validates it; 400 in the error shape
    otherwise, or 404 when the body is about a task outside the caller's stores (as if the
    task had been checked first)."""
    serializer = serializer_class(data=request.data)
    if not serializer.is_valid():
        if task_id is not None:
            task_for_associate(request.user, task_id)
        raise ValidationError(serializer.errors)
    return serializer.validated_data


class TaskOut(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField(help_text="`visit_validation` or `snippet_annotation`.")
    queue = serializers.UUIDField(source="queue_id")
    due_at = serializers.DateTimeField()
    payload = ObjectField(
        help_text="What a client needs to produce a result; see API.md per kind. An adjudication (a "
        'snippet whose N answers disagreed; supervisors only) adds `"adjudication": {"task", "disputed", '
        '"answers": [{"annotation", "associate", "username", "result"}]}`.'
    )


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
    payload = ObjectField(help_text="The task's payload without media URLs.")


UNKNOWN_TASK = "`not_found`: no such task, or one of a store you are not granted."
LEASE_LOST = "`lease_lost`: the lease expired and the task went to someone else (or the `token` is of an older lease)."
SUBMIT_LEASE_LOST = (
    "`lease_lost`: no live lease (it ran out: a heartbeat revives it while nobody has taken the "
    "task), or the task went to someone else; nothing is stored. `duplicate_submission`: the "
    "`submission_id` was used for another task."
)
LOOKAHEAD_MAX = 5


class TaskNextApi(APIView):
    """`POST /api/v1/tasks/next/`: lease the next task, or resume the one you hold."""

    permission_classes = [IsAssociateOrSupervisor]

    class TaskNextInputSerializer(serializers.Serializer):
        queue = serializers.UUIDField(required=False, help_text="Claim from this queue only.")

    @extend_schema(
        operation_id="tasks_next",
        summary="Claim the next task (or resume the one you hold)",
        request=TaskNextInputSerializer,
        responses={
            200: LeaseOut,
            204: OpenApiResponse(description="Nothing is available for you now."),
            **errors(
                {
                    403: "Not an associate or supervisor, or `associate_paused`: you are paused in every store "
                    "whose queues you could claim from (a task you hold can still be submitted).",
                    404: "`not_found`: no such queue, or one of a store you are not granted.",
                }
            ),
        },
        tags=["work"],
    )
    def post(self, request: Request) -> Response:
        queue_id = validated(self.TaskNextInputSerializer, request).get("queue")
        # The claim only looks at the caller's queues; a foreign one simply yields nothing.
        lease = task_claim(associate=request.user, queue_id=queue_id)
        if lease is None:
            if queue_id is not None:
                queue_for_associate(request.user, queue_id)  # 404, not 204, for a foreign queue
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(LeaseOut(lease).data)


class TaskHeartbeatApi(APIView):
    """`POST /api/v1/tasks/{id}/heartbeat/`: extend your lease (the open page calls it)."""

    permission_classes = [IsAssociateOrSupervisor]

    class TaskHeartbeatInputSerializer(serializers.Serializer):
        token = serializers.IntegerField(required=False, min_value=0, max_value=TOKEN_MAX)

    class TaskHeartbeatOutputSerializer(serializers.Serializer):
        lease_expires_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="tasks_heartbeat",
        summary="Extend your lease on a task",
        request=TaskHeartbeatInputSerializer,
        responses={200: TaskHeartbeatOutputSerializer, **errors({404: UNKNOWN_TASK, 409: LEASE_LOST})},
        tags=["work"],
    )
    def post(self, request: Request, task_id: str) -> Response:
        task_id = uuid_or_404(task_id)
        token = validated(self.TaskHeartbeatInputSerializer, request, task_id=task_id).get("token")
        try:
            # Scoped to the caller's stores: a success proves access.
            expires_at = task_heartbeat(associate=request.user, task_id=task_id, token=token)
        except Conflict:
            task_for_associate(request.user, task_id)  # 404, not 409, for a foreign task
            raise
        return Response(self.TaskHeartbeatOutputSerializer({"lease_expires_at": expires_at}).data)


class TaskSubmitApi(APIView):
    """`POST /api/v1/tasks/{id}/submit/`: store your result, once per `submission_id`."""

    permission_classes = [IsAssociateOrSupervisor]

    class TaskSubmitInputSerializer(serializers.Serializer):
        result = ObjectField(help_text="The kind's result, an object (API.md).")
        submission_id = serializers.UUIDField(help_text="Chosen by the client; a retry with the same id is safe.")
        token = serializers.IntegerField(required=False, min_value=0, max_value=TOKEN_MAX)
        next = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Also claim the next task after this submit commits, and return it as `next` "
            "(saves the client a round trip; never two leases at once).",
        )

    class TaskSubmitOutputSerializer(serializers.Serializer):
        annotation = serializers.UUIDField()
        next = LeaseOut(
            allow_null=True, required=False, help_text="Only when `next` was asked: the next lease, or null."
        )

    @extend_schema(
        operation_id="tasks_submit",
        summary="Submit your result for a task you hold",
        description="A `visit_validation` verdict is `confirm`, `correct`, `reject` or `unsure` (can't tell: "
        "the task goes to another associate, after two unsure answers on one event to the store's "
        "`escalation` queue, which supervisors claim here; no receipt until decided) and may carry "
        '`"evidence": {"opened": bool, "watched_ms": int >= 0, "frames_viewed": int >= 0}`. A `confirm` '
        "without `opened: true` is stored unchecked. 400 `not_checked` (`field` `events[i]`): an audit "
        "task with an event that is not checked (opened, corrected or rejected).",
        request=TaskSubmitInputSerializer,
        responses={200: TaskSubmitOutputSerializer, **errors({404: UNKNOWN_TASK, 409: SUBMIT_LEASE_LOST})},
        tags=["work"],
    )
    def post(self, request: Request, task_id: str) -> Response:
        task_id = uuid_or_404(task_id)
        data = validated(self.TaskSubmitInputSerializer, request, task_id=task_id)
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
            try:
                lease = task_claim_next(associate=request.user, after=annotation.task)
            except AssociatePaused:  # the answer is stored; there is just nothing next for them
                lease = None
            body["next"] = None if lease is None else LeaseOut(lease).data
        return Response(body)


class TaskReleaseApi(APIView):
    """`POST /api/v1/tasks/{id}/release/`: give a task back; it is not offered to you again."""

    permission_classes = [IsAssociateOrSupervisor]

    class TaskReleaseInputSerializer(serializers.Serializer):
        reason = serializers.CharField(
            max_length=RELEASE_REASON_MAX, allow_blank=True, help_text="Why (shown to supervisors)."
        )
        token = serializers.IntegerField(required=False, min_value=0, max_value=TOKEN_MAX)

    @extend_schema(
        operation_id="tasks_release",
        summary="Release (skip) a task you hold",
        request=TaskReleaseInputSerializer,
        responses={
            200: OpenApiResponse({"type": "object", "maxProperties": 0}, description="Released: `{}`."),
            **errors({404: UNKNOWN_TASK, 409: LEASE_LOST}),
        },
        tags=["work"],
    )
    def post(self, request: Request, task_id: str) -> Response:
        task = task_for_associate(request.user, task_id)
        data = validated(self.TaskReleaseInputSerializer, request)
        task_release(associate=request.user, task_id=task.pk, reason=data["reason"], token=data.get("token"))
        return Response({})


class TaskLookaheadApi(APIView):
    """`GET /api/v1/tasks/lookahead/`: preview what you would likely get next, without a lease."""

    permission_classes = [IsAssociateOrSupervisor]

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
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": LOOKAHEAD_MAX, "default": 1},
                description=f"1 to {LOOKAHEAD_MAX}, default 1.",
            ),
        ],
        responses={
            200: TaskLookaheadOutputSerializer,
            **errors(
                {
                    400: f"`invalid` (`field` `limit`): a limit outside 1 to {LOOKAHEAD_MAX}.",
                    404: "`not_found`: no such queue, or one of a store you are not granted.",
                }
            ),
        },
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
        if not 1 <= limit <= LOOKAHEAD_MAX:
            raise LoupeError(f"Use a limit from 1 to {LOOKAHEAD_MAX}.", field="limit")
        previews = task_lookahead(associate=request.user, queue=queue, limit=limit)
        return Response(self.TaskLookaheadOutputSerializer({"results": previews}).data)
