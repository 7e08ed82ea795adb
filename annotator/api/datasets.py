"""Datasets for training pipelines (API.md, "Training data out"): create, poll, download,
retry. Supervisors and integrations of the stores; a dataset holding any store the caller is
not granted is a 404."""

from django.core.files.storage import default_storage
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.access import dataset_for_user
from annotator.models import Dataset
from annotator.services.datasets import (
    CONTENT_TYPES,
    dataset_create,
    dataset_filename,
    dataset_retry,
)
from catalog.gates import IsSupervisorOrIntegration
from infra.errors import Conflict
from infra.openapi import ObjectField, errors


class DatasetOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    format = serializers.ChoiceField(choices=Dataset.Format.choices)
    status = serializers.ChoiceField(choices=Dataset.Status.choices)
    progress = serializers.FloatField(help_text="0 to 1.")
    items = serializers.IntegerField(help_text="Labels frozen into the dataset at creation.")
    sha256 = serializers.CharField(allow_blank=True, help_text="Of the file; blank until ready.")
    size_bytes = serializers.IntegerField(allow_null=True)
    filters = ObjectField(help_text="The filters as resolved at creation.")
    error = serializers.CharField(allow_blank=True, help_text="Why the build failed.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    download_url = serializers.URLField(allow_null=True, help_text="Null until ready.")


def dataset_body(request: Request, dataset: Dataset) -> dict:
    ready = dataset.status == Dataset.Status.READY
    url = reverse("api-dataset-download", args=[dataset.pk]) if ready else None
    return DatasetOut(
        {
            "id": dataset.pk,
            "name": dataset.name,
            "format": dataset.format,
            "status": dataset.status,
            "progress": dataset.progress,
            "items": dataset.items,
            "sha256": dataset.sha256,
            "size_bytes": dataset.size_bytes,
            "filters": dataset.filters,
            "error": dataset.error,
            "created_at": dataset.created_at,
            "finished_at": dataset.finished_at,
            "download_url": request.build_absolute_uri(url) if url else None,
        }
    ).data


UNKNOWN_DATASET = "`not_found`: no such dataset, or one holding a store you are not granted."


class DatasetCreateApi(APIView):
    """`POST /api/v1/datasets/`: freeze the matching labels into a dataset and build it in the
    background."""

    permission_classes = [IsSupervisorOrIntegration]

    class DatasetIn(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        format = serializers.ChoiceField(choices=Dataset.Format.choices)
        filters = ObjectField(
            required=False,
            help_text='{"store" or "stores": [codes], "since", "until" (ISO-8601 with offset), '
            '"kinds": ["visit_event", "snippet"], "model_version", "reviewed_only", "agreed_only", '
            '"checked_only" (default true: no confirm of an event nobody opened)}. '
            "Without stores: every store you are granted.",
        )

    class CreatedOut(serializers.Serializer):
        id = serializers.UUIDField()
        status = serializers.CharField()
        items = serializers.IntegerField()

    @extend_schema(
        operation_id="datasets_create",
        request=DatasetIn,
        responses={202: CreatedOut, **errors({404: "`not_found`: a store you are not granted."})},
    )
    def post(self, request: Request) -> Response:
        data = self.DatasetIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        dataset = dataset_create(
            name=fields["name"], format=fields["format"], filters=fields.get("filters"), by=request.user
        )
        body = {"id": str(dataset.pk), "status": dataset.status, "items": dataset.items}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class DatasetDetailApi(APIView):
    """`GET /api/v1/datasets/{id}/`: status and progress; `download_url` once ready."""

    permission_classes = [IsSupervisorOrIntegration]

    @extend_schema(operation_id="datasets_retrieve", responses={200: DatasetOut, **errors({404: UNKNOWN_DATASET})})
    def get(self, request: Request, dataset_id: str) -> Response:
        return Response(dataset_body(request, dataset_for_user(request.user, dataset_id)))


class DatasetDownloadApi(APIView):
    """`GET /api/v1/datasets/{id}/download/`: the file, the same bytes every time."""

    permission_classes = [IsSupervisorOrIntegration]

    @extend_schema(
        operation_id="datasets_download",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                {"type": "string", "format": "binary"}, description="JSONL, CSV or a COCO zip."
            ),
            **errors({404: UNKNOWN_DATASET, 409: "`not_ready`: queued, running or failed."}),
        },
    )
    def get(self, request: Request, dataset_id: str):
        dataset = dataset_for_user(request.user, dataset_id)
        if dataset.status != Dataset.Status.READY or not dataset.file:
            raise Conflict(f"The dataset is {dataset.status}, not ready.", code="not_ready")
        response = FileResponse(
            default_storage.open(dataset.file.name, "rb"),
            as_attachment=True,
            filename=dataset_filename(dataset),
            content_type=CONTENT_TYPES[dataset.format],
        )
        response["Content-Length"] = str(dataset.size_bytes)
        response["ETag"] = f'"{dataset.sha256}"'
        response["X-Content-SHA256"] = dataset.sha256
        return response


class DatasetRetryApi(APIView):
    """`POST /api/v1/datasets/{id}/retry/`: build a failed (or stalled) dataset again."""

    permission_classes = [IsSupervisorOrIntegration]

    @extend_schema(
        operation_id="datasets_retry",
        request=None,
        responses={
            202: DatasetOut,
            **errors(
                {
                    404: UNKNOWN_DATASET,
                    409: "`not_failed`: only a failed dataset, or one whose build stalled (its worker's "
                    "lease ran out), can be retried.",
                }
            ),
        },
    )
    def post(self, request: Request, dataset_id: str) -> Response:
        dataset = dataset_retry(dataset=dataset_for_user(request.user, dataset_id), by=request.user)
        return Response(dataset_body(request, dataset), status=status.HTTP_202_ACCEPTED)
