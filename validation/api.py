"""The visit and receipt API (see docs/API.md). Thin: parse, check access, call a service,
shape the answer.

Access: posting visits is for integrations (and superusers); reading visits and receipts is
for integrations and supervisors. Any other authenticated caller (associates) gets 403
before anything is looked up, whatever the store; a store or object outside the caller's
grants is 404. The shopper token is only ever returned to integrations.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.access import store_for_user, stores_for_user
from catalog.gates import IsIntegration, IsSupervisorOrIntegration
from infra.errors import LoupeError, error_body
from infra.openapi import errors
from infra.parsers import JSONParser
from infra.text import storable
from validation import schemas
from validation.access import can_see_shopper, receipt_for_user, visit_for_user
from validation.models import Receipt, Visit
from validation.selectors import visit_latest_receipt, visit_status, visit_task_id
from validation.services import IngestResult, receipt_data, visit_ingest, visits_ingest_many
from validation.services.disputes import MAX_REASON, dispute_data, dispute_open


class VisitJSONParser(JSONParser):
    """The API's JSON parser (a body nested too deeply is a 400 there too), letting the
    `NaN`/`Infinity` literals through so that the visit checks can refuse them with the field
    at fault (`events[3].confidence`) instead of a bare 400."""

    strict = False


UNKNOWN_STORE = "`not_found`: no such store, or one you are not granted."
INGEST_ERRORS = errors(
    {
        404: UNKNOWN_STORE,
        409: "`duplicate_external_id`: this store's external_id was received with another body.",
    }
)
_NOT_FOUND = error_body("not_found", "Not found.")


def _store_code(body: object) -> str:
    """The body's store code, fit for the store lookup (checked before the body's shape)."""
    code = body.get("store") if isinstance(body, dict) else None
    if not isinstance(code, str) or not code:
        raise LoupeError("Name the store (its code).", code="required", field="store")
    return storable(code, "store")


def ingest_answer(result: IngestResult) -> tuple[int, dict]:
    """What POST /visits/ answers for an ingest result: 201 with what was just decided, or
    200 with the visit's current state for a replay."""
    visit = result.visit
    if result.created:
        task = result.task if result.task is not None and result.task.purpose != "audit" else None
        status_code, current, task_id, receipt = 201, visit.status, task and task.id, result.receipt
    else:
        status_code, current = 200, visit_status(visit)
        task_id, receipt = visit_task_id(visit), visit_latest_receipt(visit)
    return status_code, {
        "id": str(visit.id),
        "external_id": visit.external_id,
        "status": current,
        "due_at": visit.due_at.isoformat() if visit.due_at else None,
        "task_id": str(task_id) if task_id else None,
        "receipt": receipt_data(receipt) if receipt else None,
    }


class VisitIngestApi(APIView):
    permission_classes = [IsIntegration]
    parser_classes = [VisitJSONParser]

    @extend_schema(
        operation_id="visits_create",
        summary="Send a finished shopping visit",
        request=schemas.VisitIn,
        responses={201: schemas.VisitIngestedOut, 200: schemas.VisitIngestedOut, **INGEST_ERRORS},
        description="201 when stored (auto-accepted with its receipt, or pending review with "
        "its task); 200 when the same body was received before; 409 `duplicate_external_id` "
        "when the external_id was received with another body.",
    )
    def post(self, request: Request) -> Response:
        store = store_for_user(request.user, _store_code(request.data))
        status_code, body = ingest_answer(visit_ingest(store=store, payload=request.data))
        return Response(body, status=status_code)


class VisitBulkIngestApi(APIView):
    permission_classes = [IsIntegration]
    parser_classes = [VisitJSONParser]

    @extend_schema(
        operation_id="visits_bulk_create",
        summary="Send up to 500 visits at once",
        request=schemas.BulkVisitsIn,
        responses={200: schemas.BulkVisitsOut},
        description="Each result is what POST /api/v1/visits/ would have answered for that "
        "visit; each visit is stored (or not) on its own.",
    )
    def post(self, request: Request) -> Response:
        body = request.data
        visits = body.get("visits") if isinstance(body, dict) else None
        if not isinstance(visits, list):
            raise LoupeError('Send {"visits": [...]}.', code="required", field="visits")
        if len(visits) > schemas.MAX_BULK_VISITS:
            raise LoupeError(
                f"At most {schemas.MAX_BULK_VISITS} visits per request.", code="too_many_visits", field="visits"
            )
        return Response({"results": _bulk_results(request.user, visits)})


def _bulk_results(user, visits: list) -> list[dict]:
    """Per item: refuse what is not a visit of a granted store here (as the single endpoint
    would), hand the rest to `visits_ingest_many` in one go, and answer in the items' order."""
    answers: list[tuple[int, dict] | None] = [None] * len(visits)
    named: list[tuple[int, dict, str]] = []
    for index, item in enumerate(visits):
        try:
            if not isinstance(item, dict):
                raise LoupeError("Each visit must be a JSON object.", code="invalid")
            named.append((index, item, _store_code(item)))
        except LoupeError as exc:
            answers[index] = exc.status_code, error_body(exc.code, exc.detail, exc.field)
    codes = {code for _, _, code in named}
    stores = {store.code: store for store in stores_for_user(user).filter(code__in=codes)}
    accepted: list[tuple[int, tuple]] = []
    for index, item, code in named:
        if (store := stores.get(code)) is None:
            answers[index] = status.HTTP_404_NOT_FOUND, _NOT_FOUND
        else:
            accepted.append((index, (store, item)))
    outcomes = visits_ingest_many(items=[pair for _, pair in accepted])
    for (index, _), outcome in zip(accepted, outcomes, strict=True):
        if isinstance(outcome, LoupeError):
            answers[index] = outcome.status_code, error_body(outcome.code, outcome.detail, outcome.field)
        else:
            answers[index] = ingest_answer(outcome)
    return [
        {"external_id": _external_id(item), "status_code": status_code, "body": body}
        for item, (status_code, body) in zip(visits, answers, strict=True)
    ]


def _external_id(item: object) -> str | None:
    external_id = item.get("external_id") if isinstance(item, dict) else None
    if not isinstance(external_id, str):
        return None
    try:
        return storable(external_id, "external_id")
    except LoupeError:  # the item's own answer says so; echoed, a lone surrogate would 500 the batch
        return None


def visit_body(visit: Visit, *, with_shopper: bool) -> dict:
    _, body = ingest_answer(IngestResult(visit=visit, created=False))
    body.update(
        {
            "store": visit.store.code,
            "entered_at": visit.entered_at.isoformat(),
            "exited_at": visit.exited_at.isoformat(),
            "model_version": visit.model_version,
            "decision": visit.decision,
            "threshold": visit.threshold,
            "min_confidence": visit.min_confidence,
            "received_at": visit.received_at.isoformat(),
            "validated_at": visit.validated_at.isoformat() if visit.validated_at else None,
            "predicted_cart": visit.predicted_cart,
            "final_cart": visit.final_cart,
            "corrections": [
                {"sku": c.sku, "delta": c.delta, "reason": c.reason, "event": str(c.event_id) if c.event_id else None}
                for c in visit.corrections.all()
            ],
        }
    )
    if with_shopper:
        body["shopper"] = visit.shopper
    return body


class VisitDetailApi(APIView):
    permission_classes = [IsSupervisorOrIntegration]

    @extend_schema(
        operation_id="visits_retrieve",
        summary="A visit, its carts, corrections and latest receipt",
        responses={
            200: schemas.VisitOut,
            **errors({404: "`not_found`: no such visit, or one of a store you are not granted."}),
        },
    )
    def get(self, request: Request, visit_id: str) -> Response:
        visit = visit_for_user(request.user, visit_id)
        return Response(visit_body(visit, with_shopper=can_see_shopper(request.user)))


class ReceiptDetailApi(APIView):
    permission_classes = [IsSupervisorOrIntegration]

    @extend_schema(
        operation_id="receipts_retrieve",
        summary="A receipt",
        responses={
            200: schemas.ReceiptOut,
            **errors({404: "`not_found`: no such receipt, or one of a store you are not granted."}),
        },
    )
    def get(self, request: Request, receipt_id: str) -> Response:
        receipt: Receipt = receipt_for_user(request.user, receipt_id)
        return Response(receipt_data(receipt))


class VisitDisputeApi(APIView):
    """`POST /api/v1/visits/{id}/disputes/`: contest a visit's receipt (customer service)."""

    permission_classes = [IsIntegration]

    class DisputeInputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=MAX_REASON, help_text="What is wrong with the receipt.")
        sku = serializers.CharField(required=False, allow_null=True, help_text="The product in question, if one.")

    class DisputeOutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        visit = serializers.UUIDField()
        status = serializers.ChoiceField(choices=["open", "resolved"])
        reason = serializers.CharField()
        sku = serializers.CharField(allow_null=True)
        task_id = serializers.UUIDField(allow_null=True, help_text="The top-priority review task.")
        opened_at = serializers.DateTimeField()
        outcome = serializers.ChoiceField(
            choices=["confirmed", "corrected"], allow_null=True, help_text="Once resolved."
        )
        resolved_at = serializers.DateTimeField(allow_null=True)
        receipt = serializers.UUIDField(allow_null=True, help_text="The corrected receipt, when one followed.")

    @extend_schema(
        operation_id="visits_disputes_create",
        summary="Dispute a visit's receipt",
        description="The visit goes back to review as a top-priority task that is never offered to "
        "whoever validated it before; its outcome issues `receipt.corrected` (billing hears it "
        "through the webhook) or confirms the receipt. 409 `dispute_open` while a dispute of the "
        "visit is open, 409 `no_receipt` while the visit awaits its first receipt.",
        request=DisputeInputSerializer,
        responses={
            201: DisputeOutputSerializer,
            **errors(
                {
                    404: "`not_found`: no such visit, or one of a store you are not granted.",
                    409: "`dispute_open` or `no_receipt`.",
                }
            ),
        },
    )
    def post(self, request: Request, visit_id: str) -> Response:
        visit = visit_for_user(request.user, visit_id)
        body = request.data if isinstance(request.data, dict) else {}
        dispute = dispute_open(visit=visit, reason=body.get("reason"), sku=body.get("sku"), opened_by=request.user)
        return Response(dispute_data(dispute), status=status.HTTP_201_CREATED)
