"""The `visit_validation` task kind, registered with the annotator's registry."""

import datetime as dt
from typing import Any

from annotator import kinds
from validation.visit_result import validate_visit_result
from validation.visit_review import visit_compare, visit_review_context
from validation.visit_screen import visit_task_context

VISIT_VALIDATION = "visit_validation"


def validate_result(task, result: Any) -> dict:
    return validate_visit_result(task, result, decides=lambda: task.queue.supervisors_only)


def on_submit(task, annotation) -> None:
    """Runs in the submit transaction: the final cart, corrections, receipt (and webhook),
    the visit's state and the training labels (`validation.services.review`)."""
    # Imported here, not at the top: the validation services (routing) import this module
    # for VISIT_VALIDATION and the payload, and this module is loaded first (AppConfig.ready).
    from validation.services.review import review_apply

    review_apply(task=task, annotation=annotation)


def register() -> None:
    kinds.register(
        kinds.TaskKind(
            name=VISIT_VALIDATION,
            label="Visit validation",
            validate_result=validate_result,
            on_submit=on_submit,
            template="validation/visit_task.html",
            context=visit_task_context,
            review_template="validation/_visit_review.html",
            review_context=visit_review_context,
            compare=visit_compare,
        )
    )


def visit_task_payload(visit, *, events=None) -> dict:
    """The payload of a `visit_validation` task: what an associate needs to validate the visit.

    Never the shopper token. `events` (with product, camera and snippet loaded) saves the
    query when the caller already holds them, as ingestion does.
    """
    if events is None:
        events = visit.events.select_related("product", "camera").order_by("seq")
    due_at = visit.due_at or visit.exited_at + dt.timedelta(minutes=visit.store.sla_minutes)
    return {
        "visit": str(visit.id),
        "store": visit.store.code,
        "due_at": due_at.isoformat(),
        "threshold": visit.threshold,
        "events": [
            {
                "id": str(event.id),
                "external_id": event.external_id,
                "action": event.action,
                "sku": event.sku,
                "name": event.product.name,
                "price_minor": event.product.price_minor,
                "quantity": event.quantity,
                "confidence": event.confidence,
                "candidates": event.candidates,
                "snippet": str(event.snippet_id) if event.snippet_id else None,
                "occurred_at": event.occurred_at.isoformat(),
                "camera": event.camera.code if event.camera_id else None,
            }
            for event in events
        ],
    }
