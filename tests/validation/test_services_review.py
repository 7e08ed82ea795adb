"""A submitted visit validation becomes the final cart, its corrections, a receipt with its
webhook event, the visit's new state and training labels, all in the submit transaction."""

import uuid
from unittest import mock

import pytest

from annotator.models import Annotation, Label, Slot, Task
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from tests.conftest import token_client
from tests.validation.bodies import event_body
from tests.validation.review import associate, audited_visit, pending_visit, validate, verdicts
from validation.models import CartCorrection, Receipt, Visit, WebhookEvent

pytestmark = pytest.mark.django_db


def lines(receipt: Receipt) -> list[tuple]:
    return [(line.sku, line.quantity, line.price_minor, line.total_minor) for line in receipt.lines.all()]


def corrections(visit: Visit) -> list[tuple]:
    return sorted(
        (c.sku, c.delta, c.reason, str(c.event_id) if c.event_id else None)
        for c in CartCorrection.objects.filter(visit=visit)
    )


def test_a_review_issues_the_receipt_of_the_corrected_cart_with_one_correction_per_change(s001, alice):
    visit, task = pending_visit(
        s001,
        [
            event_body(1, sku="SKU-0001", confidence=0.5),
            event_body(2, sku="SKU-0002", confidence=0.5),
            event_body(3, sku="SKU-0003", quantity=2, confidence=0.5),
            event_body(4, sku="SKU-0001", confidence=0.5),
        ],
    )
    e1, e2, e3, e4 = (str(e.id) for e in visit.events.order_by("seq"))
    annotation = validate(
        alice,
        task,
        verdicts(
            visit,
            None,
            {"verdict": "correct", "sku": "SKU-0004"},
            {"verdict": "correct", "quantity": 1},
            {"verdict": "reject"},
        ),
        missed=[{"sku": "SKU-0005", "action": "take", "quantity": 1}],
    )

    visit.refresh_from_db()
    assert visit.status == Visit.Status.VALIDATED
    assert visit.validated_at is not None
    assert [(line["sku"], line["quantity"], line["price_minor"]) for line in visit.final_cart] == [
        ("SKU-0001", 1, 100),
        ("SKU-0004", 1, 400),
        ("SKU-0003", 1, 300),
        ("SKU-0005", 1, 500),
    ]
    receipt = Receipt.objects.get(visit=visit)
    assert (receipt.kind, receipt.supersedes, receipt.total_minor, receipt.currency) == (
        "receipt.issued",
        None,
        1300,
        "EUR",
    )
    assert lines(receipt) == [
        ("SKU-0001", 1, 100, 100),
        ("SKU-0004", 1, 400, 400),
        ("SKU-0003", 1, 300, 300),
        ("SKU-0005", 1, 500, 500),
    ]
    assert corrections(visit) == sorted(
        [
            ("SKU-0002", -1, "corrected_sku", e2),
            ("SKU-0004", 1, "corrected_sku", e2),
            ("SKU-0003", -1, "corrected_quantity", e3),
            ("SKU-0001", -1, "rejected", e4),
            ("SKU-0005", 1, "missed", None),
        ]
    )
    correction = CartCorrection.objects.get(visit=visit, reason="rejected")
    assert (correction.annotation, correction.created_by, correction.receipt) == (annotation, alice, receipt)
    event = WebhookEvent.objects.get(receipt=receipt)
    assert event.type == "receipt.issued"
    assert event.payload["data"]["total_minor"] == 1300
    assert {(label.verdict, str(label.event_id) if label.event_id else None) for label in Label.objects.all()} == {
        ("confirm", e1),
        ("correct", e2),
        ("correct", e3),
        ("reject", e4),
        ("missed", None),
    }


def test_a_review_that_confirms_everything_issues_the_predicted_cart_without_corrections(s001, alice):
    visit, task = pending_visit(s001)
    validate(alice, task, verdicts(visit))

    visit.refresh_from_db()
    receipt = Receipt.objects.get(visit=visit)
    assert lines(receipt) == [("SKU-0001", 1, 100, 100), ("SKU-0002", 1, 200, 200)]
    assert visit.final_cart == visit.predicted_cart
    assert visit.status == Visit.Status.VALIDATED
    assert not CartCorrection.objects.exists()
    assert WebhookEvent.objects.filter(receipt=receipt).count() == 1


def test_a_corrected_action_moves_the_quantity_the_other_way(s001, alice):
    visit, task = pending_visit(
        s001,
        [
            event_body(1, sku="SKU-0001", quantity=2, confidence=0.5),
            event_body(2, sku="SKU-0001", action="put_back", confidence=0.5),
        ],
    )
    validate(alice, task, verdicts(visit, None, {"verdict": "correct", "action": "take"}))

    visit.refresh_from_db()
    assert [(line["sku"], line["quantity"]) for line in visit.final_cart] == [("SKU-0001", 3)]
    assert [(c.sku, c.delta, c.reason) for c in CartCorrection.objects.all()] == [("SKU-0001", 2, "corrected_action")]
    assert Receipt.objects.get(visit=visit).total_minor == 300


def test_rejecting_a_put_back_of_something_never_taken_still_adds_up(s001, alice):
    # The model's cart leaves out a sku netting below zero; the corrections must still sum
    # to the change of the cart (here: none for SKU-0002).
    visit, task = pending_visit(
        s001,
        [
            event_body(1, sku="SKU-0001", confidence=0.5),
            event_body(2, sku="SKU-0002", action="put_back", confidence=0.5),
        ],
    )
    validate(alice, task, verdicts(visit, {"verdict": "reject"}, {"verdict": "reject"}))

    visit.refresh_from_db()
    assert visit.final_cart == []
    assert [(c.sku, c.delta, c.reason) for c in CartCorrection.objects.all()] == [("SKU-0001", -1, "rejected")]
    assert Receipt.objects.get(visit=visit).total_minor == 0


def test_a_failing_webhook_rolls_the_whole_submit_back(s001, alice):
    visit, task = pending_visit(s001)
    lease = task_claim(associate=alice)
    outbox_down = mock.patch("validation.services.receipts.webhooks_announce", side_effect=RuntimeError("outbox down"))
    with outbox_down, pytest.raises(RuntimeError):
        task_submit(
            associate=alice,
            task_id=task.pk,
            result={"events": verdicts(visit, {"verdict": "reject"}), "missed": []},
            submission_id=uuid.uuid4(),
        )

    visit.refresh_from_db()
    assert visit.status == Visit.Status.PENDING_REVIEW
    assert visit.final_cart is None
    assert not Annotation.objects.exists()
    assert not Receipt.objects.exists()
    assert not WebhookEvent.objects.exists()
    assert not CartCorrection.objects.exists()
    assert not Label.objects.exists()
    slot = Slot.objects.get(pk=lease.slot_id)
    assert (slot.state, slot.holder) == (Slot.State.OPEN, alice)
    assert Task.objects.get(pk=task.pk).annotations_done == 0


def test_an_audit_that_finds_an_error_supersedes_the_receipt(s001, alice):
    visit, task = audited_visit(s001)
    original = Receipt.objects.get(visit=visit)
    assert task.purpose == "audit"

    validate(alice, task, verdicts(visit, None, {"verdict": "reject"}))

    visit.refresh_from_db()
    assert (visit.audit_outcome, visit.status) == ("corrected", Visit.Status.VALIDATED)
    assert visit.audit_completed_at is not None
    corrected = Receipt.objects.get(visit=visit, supersedes=original)
    assert (corrected.kind, corrected.total_minor) == ("receipt.corrected", 100)
    assert lines(corrected) == [("SKU-0001", 1, 100, 100)]
    assert lines(original) == [("SKU-0001", 1, 100, 100), ("SKU-0002", 1, 200, 200)]  # never edited
    event = WebhookEvent.objects.get(receipt=corrected)
    assert event.type == "receipt.corrected"
    assert event.payload["data"]["supersedes"] == str(original.id)
    assert event.payload["data"]["difference"]["total_minor"] == -200
    assert [(c.sku, c.delta, c.reason, c.receipt) for c in CartCorrection.objects.all()] == [
        ("SKU-0002", -1, "rejected", corrected)
    ]


def test_an_audit_that_finds_nothing_changes_nothing_but_counts(s001, alice):
    visit, task = audited_visit(s001)
    before = Visit.objects.values("status", "final_cart", "validated_at").get(pk=visit.pk)

    validate(alice, task, verdicts(visit))

    visit.refresh_from_db()
    assert visit.audit_outcome == "confirmed"
    assert visit.audit_completed_at is not None
    assert Visit.objects.values("status", "final_cart", "validated_at").get(pk=visit.pk) == before
    assert Receipt.objects.filter(visit=visit).count() == 1
    assert WebhookEvent.objects.count() == 1
    assert not CartCorrection.objects.exists()
    assert Label.objects.filter(verdict="confirm").count() == 2


def test_with_overlap_the_first_annotation_decides_and_later_ones_are_labels_only(s001, alice):
    dave = associate(s001, "dave")
    visit, _ = pending_visit(s001)
    task = Task.objects.get(subject_id=visit.id)
    # The default queue was created with the store's associates; make the task overlap 2.
    Task.objects.filter(pk=task.pk).update(overlap=2)
    Slot.objects.create(
        task=task, index=1, queue=task.queue, priority=task.priority, due_at=task.due_at, created_at=task.created_at
    )

    validate(alice, task, verdicts(visit, {"verdict": "reject"}))
    validate(dave, task, verdicts(visit))

    visit.refresh_from_db()
    assert [(line["sku"], line["quantity"]) for line in visit.final_cart] == [("SKU-0002", 1)]
    assert Receipt.objects.filter(visit=visit).count() == 1
    assert CartCorrection.objects.count() == 1
    assert Label.objects.count() == 4
    assert Label.objects.filter(associate=dave, verdict="confirm").count() == 2


def test_visit_event_labels_carry_prediction_human_value_and_provenance(s001, alice):
    visit, task = pending_visit(s001)
    event = visit.events.order_by("seq").first()
    annotation = validate(alice, task, verdicts(visit, {"verdict": "correct", "sku": "SKU-0003", "quantity": 2}))

    label = Label.objects.get(event_id=event.id)
    assert (label.kind, label.verdict, label.store, label.task_id, label.annotation, label.associate) == (
        "visit_event",
        "correct",
        s001,
        task.pk,
        annotation,
        alice,
    )
    assert label.model_version == visit.model_version
    assert label.predicted["sku"] == "SKU-0001"
    assert label.predicted["confidence"] == 0.5
    assert label.human == {"action": "take", "sku": "SKU-0003", "quantity": 2}
    assert label.provenance["visit"] == str(visit.id)
    assert label.provenance["purpose"] == "review"
    assert label.provenance["submission_id"] == str(annotation.submission_id)


def test_through_the_work_api_the_visit_shows_its_corrections_and_receipt(s001, alice, s001_integration):
    visit, task = pending_visit(s001)
    client = token_client(alice)
    lease = client.post("/api/v1/tasks/next/", {}, format="json").json()
    assert lease["task"]["id"] == str(task.pk)
    result = {"events": verdicts(visit, {"verdict": "correct", "quantity": 3}), "missed": []}

    response = client.post(
        f"/api/v1/tasks/{task.pk}/submit/", {"result": result, "submission_id": str(uuid.uuid4())}, format="json"
    )

    assert response.status_code == 200, response.content
    body = token_client(s001_integration).get(f"/api/v1/visits/{visit.id}/").json()
    assert body["status"] == "validated"
    assert body["corrections"] == [
        {"sku": "SKU-0001", "delta": 2, "reason": "corrected_quantity", "event": result["events"][0]["event"]}
    ]
    assert body["receipt"]["total_minor"] == 3 * 100 + 200
    assert [(line["sku"], line["quantity"]) for line in body["final_cart"]] == [("SKU-0001", 3), ("SKU-0002", 1)]
