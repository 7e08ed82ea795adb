"""Snippet intake and lookup for the computer-vision pipeline (API.md, "Ingestion")."""

import json

from django.conf import settings
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.access import snippet_for_user
from annotator.media import video_too_large
from annotator.models import Snippet, Task
from annotator.services.snippets import snippet_annotation_task, snippet_ingest, snippet_media_urls
from catalog.access import store_for_user
from catalog.gates import IsIntegration, IsSupervisorOrIntegration
from catalog.models import Camera
from infra.errors import LoupeError
from infra.openapi import errors

# Multipart framing around the file; the file itself is checked against SNIPPET_MAX_BYTES.
_ENVELOPE_BYTES = 1024 * 1024


class SnippetOut(serializers.Serializer):
    id = serializers.UUIDField()
    external_id = serializers.CharField()
    store = serializers.CharField(help_text="Store code.")
    camera = serializers.CharField(help_text="Camera code.")
    started_at = serializers.DateTimeField()
    duration_s = serializers.FloatField()
    fps = serializers.FloatField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    frame_count = serializers.IntegerField()
    poster_url = serializers.URLField(help_text="Works for the store's supervisors and the task's lease holder.")
    task_id = serializers.UUIDField(allow_null=True, help_text="The annotation task; null unless `annotate`.")

    class RedactionOut(serializers.Serializer):
        frames = serializers.ListField(child=serializers.IntegerField(), help_text="[from, to], inclusive.")
        box = serializers.ListField(child=serializers.IntegerField(), help_text="[x, y, w, h] in clip pixels.")
        source = serializers.ChoiceField(choices=["request", "face"])

    redactions = RedactionOut(
        many=True,
        help_text="Regions obscured before the clip was stored. While `redacting`, the requested regions; "
        "the faces found join them once `ready`.",
    )
    media_purged = serializers.BooleanField(help_text="The files were deleted (retention or erasure).")
    status = serializers.ChoiceField(
        choices=Snippet.Status.choices,
        help_text="`redacting`: the upload was accepted and is being redacted on a worker; until it is `ready` "
        "the media URLs answer 409 `snippet_redacting` and the annotation task cannot be claimed. "
        "`failed`: it could not be redacted (see `failure`); nothing of it is kept or served, its task is cancelled.",
    )
    failure = serializers.CharField(allow_null=True, help_text="Why the redaction failed; null unless `failed`.")


def snippet_body(request: Request, snippet: Snippet, task: Task | None) -> dict:
    return {
        "id": str(snippet.pk),
        "external_id": snippet.external_id,
        "store": snippet.store.code,
        "camera": snippet.camera.code,
        "started_at": serializers.DateTimeField().to_representation(snippet.started_at),
        "duration_s": snippet.duration_s,
        "fps": snippet.fps,
        "width": snippet.width,
        "height": snippet.height,
        "frame_count": snippet.frame_count,
        "poster_url": request.build_absolute_uri(snippet_media_urls(snippet.pk)["poster_url"]),
        "task_id": str(task.pk) if task else None,
        "redactions": snippet.redactions,
        "media_purged": snippet.media_purged_at is not None,
        "status": snippet.status,
        "failure": snippet.failure or None if snippet.status == Snippet.Status.FAILED else None,
    }


class SnippetCreateApi(APIView):
    """`POST /api/v1/snippets/`: a clip from the computer-vision pipeline."""

    parser_classes = [MultiPartParser]
    permission_classes = [IsIntegration]

    class SnippetIn(serializers.Serializer):
        file = serializers.FileField(
            allow_empty_file=True,
            use_url=False,
            help_text="MP4 (H.264) or WebM (VP9); at most 50 MB, 120 s, 1920x1080.",
        )
        store = serializers.CharField(max_length=32)
        camera = serializers.CharField(max_length=32)
        external_id = serializers.CharField(min_length=1, max_length=128)
        started_at = serializers.DateTimeField(help_text="ISO-8601 with offset: when the first frame was taken.")
        annotate = serializers.BooleanField(default=False, help_text="Queue the snippet for annotation.")
        predictions = serializers.CharField(
            required=False,
            allow_blank=True,
            help_text='JSON list: [{"frame", "label": "hand"|"product", "sku"?, "box": [x, y, w, h], "score"}].',
        )

        redact = serializers.CharField(
            required=False,
            allow_blank=True,
            help_text='JSON list of regions to blur: [{"frames": [from, to], "box": [x, y, w, h]}], at most 1,000.',
        )

        def validate_redact(self, value):
            if not value:
                return None
            try:
                return json.loads(value)
            except (ValueError, RecursionError):
                raise serializers.ValidationError("redact must be a JSON list.", code="invalid") from None

        def validate_started_at(self, value):
            parsed = parse_datetime(str(self.initial_data.get("started_at", "")))
            if parsed is not None and parsed.tzinfo is None:
                raise serializers.ValidationError("Give the time with its UTC offset.", code="invalid")
            return value

        def validate_predictions(self, value):
            if not value:
                return None
            try:
                return json.loads(value)
            except (ValueError, RecursionError):  # RecursionError: nested too deeply
                raise serializers.ValidationError("predictions must be a JSON list.", code="invalid") from None

    @extend_schema(
        operation_id="snippets_create",
        request={"multipart/form-data": SnippetIn},
        responses={
            201: OpenApiResponse(
                SnippetOut,
                description="Accepted, probed and held for redaction: `status` is `redacting` until a worker has "
                "stored the redacted clip (poll `GET /api/v1/snippets/{id}/`).",
            ),
            200: OpenApiResponse(SnippetOut, description="The same store + external_id + bytes again (current state)."),
            **errors(
                {
                    400: "`invalid_video`, `unknown_camera`, `unknown_sku` or another field at fault (`field`).",
                    404: "`not_found`: no such store, or one you are not granted.",
                    409: "`duplicate_external_id`: same external_id, different bytes.",
                    413: "`video_too_large`: bytes, duration or resolution over the limit.",
                    415: "`unsupported_media_type`: not multipart/form-data.",
                }
            ),
        },
    )
    def post(self, request: Request) -> Response:
        if int(request.META.get("CONTENT_LENGTH") or 0) > settings.SNIPPET_MAX_BYTES + _ENVELOPE_BYTES:
            raise video_too_large(f"The file is larger than {settings.SNIPPET_MAX_BYTES} bytes.")
        data = self.SnippetIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        store = store_for_user(request.user, fields["store"])
        camera = Camera.objects.filter(store=store, code=fields["camera"]).first()
        if camera is None:
            raise LoupeError(
                f"Store {store.code} has no camera {fields['camera']!r}.", code="unknown_camera", field="camera"
            )
        result = snippet_ingest(
            store=store,
            camera=camera,
            external_id=fields["external_id"],
            started_at=fields["started_at"],
            upload=fields["file"],
            annotate=fields["annotate"],
            predictions=fields.get("predictions"),
            redact=fields.get("redact"),
        )
        return Response(
            snippet_body(request, result.snippet, result.task),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class SnippetDetailApi(APIView):
    """`GET /api/v1/snippets/{id}/`: a stored snippet, for its store's integrations and supervisors."""

    permission_classes = [IsSupervisorOrIntegration]

    @extend_schema(
        operation_id="snippets_retrieve",
        responses={
            200: SnippetOut,
            **errors({404: "`not_found`: no such snippet, or one of a store you are not granted."}),
        },
    )
    def get(self, request: Request, snippet_id) -> Response:
        snippet = snippet_for_user(request.user, snippet_id)
        return Response(snippet_body(request, snippet, snippet_annotation_task(snippet)))
