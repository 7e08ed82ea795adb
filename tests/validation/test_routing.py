"""Confidence routing: sure visits get a receipt at once, the rest a review task."""

import datetime as dt
import random

from annotator.models import Task
from catalog.models import Store
from tests.validation.bodies import event_body, visit_body
from validation.models import Receipt, Visit
from validation.services import route_decide, routing, visit_ingest

EXITED_AT = dt.datetime(2026, 11, 24, 10, 9, 40, tzinfo=dt.UTC)


def never_audit() -> random.Random:
    rng = random.Random()
    rng.random = lambda: 1.0
    return rng


def test_a_visit_whose_events_are_all_sure_is_auto_accepted_with_its_receipt(s001):
    events = [event_body(1, confidence=0.95), event_body(2, sku="SKU-0003", quantity=2, confidence=0.99)]
    result = visit_ingest(store=s001, payload=visit_body(events=events), rng=never_audit())

    visit = Visit.objects.get()
    assert (visit.status, visit.decision, visit.audited) == ("auto_accepted", "auto_accept", False)
    assert (visit.threshold, visit.min_confidence, visit.due_at) == (0.9, 0.95, None)
    assert visit.final_cart == visit.predicted_cart
    receipt = Receipt.objects.get()
    assert result.receipt == receipt
    assert (receipt.kind, receipt.total_minor, receipt.currency, receipt.supersedes) == (
        "receipt.issued",
        100 + 2 * 300,
        "EUR",
        None,
    )
    assert [(line.sku, line.quantity, line.price_minor, line.total_minor) for line in receipt.lines.all()] == [
        ("SKU-0001", 1, 100, 100),
        ("SKU-0003", 2, 300, 600),
    ]
    assert not Task.objects.exists()


def test_confidence_exactly_at_the_threshold_counts_as_sure(s001):
    Store.objects.filter(pk=s001.pk).update(auto_accept_threshold=0.75)
    s001.refresh_from_db()
    visit_ingest(store=s001, payload=visit_body(events=[event_body(1, confidence=0.75)]), rng=never_audit())

    assert Visit.objects.get().status == "auto_accepted"


def test_one_unsure_event_sends_the_visit_to_review_due_within_the_sla(s001):
    Store.objects.filter(pk=s001.pk).update(sla_minutes=20)
    s001.refresh_from_db()
    events = [event_body(1, confidence=0.99), event_body(2, confidence=0.8999)]
    result = visit_ingest(store=s001, payload=visit_body(events=events))

    visit = Visit.objects.get()
    assert (visit.status, visit.decision, visit.min_confidence) == ("pending_review", "review", 0.8999)
    assert visit.due_at == EXITED_AT + dt.timedelta(minutes=20)
    assert visit.final_cart is None
    assert not Receipt.objects.exists()
    task = Task.objects.get()
    assert task == result.task
    assert (task.kind, task.purpose, task.priority, task.due_at, task.subject_id) == (
        "visit_validation",
        "review",
        0,
        visit.due_at,
        visit.id,
    )
    assert task.queue.store == s001
    assert task.queue.kind == "visit_validation"
    assert task.slots.count() == task.overlap


def test_the_review_task_payload_describes_the_events_without_the_shopper(s001):
    visit_ingest(store=s001, payload=visit_body(events=[event_body(1, confidence=0.3, quantity=2)]))

    visit = Visit.objects.get()
    event = visit.events.get()
    payload = Task.objects.get().payload
    assert payload == {
        "visit": str(visit.id),
        "store": "S001",
        "due_at": visit.due_at.isoformat(),
        "threshold": 0.9,
        "events": [
            {
                "id": str(event.id),
                "external_id": "e1",
                "action": "take",
                "sku": "SKU-0001",
                "name": "S001 product 1",
                "price_minor": 100,
                "quantity": 2,
                "confidence": 0.3,
                "candidates": [{"sku": "SKU-0002", "score": 0.02}],
                "snippet": None,
                "occurred_at": "2026-11-24T10:03:11+00:00",
                "camera": "C01",
            }
        ],
    }
    assert "anon-7f3a9c" not in str(payload)


def test_a_visit_with_no_events_is_auto_accepted_with_an_empty_receipt(s001):
    visit_ingest(store=s001, payload=visit_body(events=[]), rng=never_audit())

    visit = Visit.objects.get()
    assert (visit.status, visit.min_confidence, visit.predicted_cart) == ("auto_accepted", None, [])
    receipt = Receipt.objects.get()
    assert (receipt.total_minor, receipt.lines.count()) == (0, 0)


def test_a_visit_whose_takes_are_all_put_back_gets_an_empty_receipt(s001):
    events = [event_body(1), event_body(2, action="put_back")]
    visit_ingest(store=s001, payload=visit_body(events=events), rng=never_audit())

    assert Receipt.objects.get().total_minor == 0


def test_audits_sample_auto_accepted_visits_reproducibly_with_a_seeded_rng(s001):
    Store.objects.filter(pk=s001.pk).update(audit_rate=0.3)
    s001.refresh_from_db()

    def audited_external_ids(seed: int) -> list[str]:
        rng = random.Random(seed)
        return [
            external_id
            for n in range(40)
            if visit_ingest(
                store=s001, payload=visit_body(external_id=(external_id := f"v-{seed}-{n}")), rng=rng
            ).visit.audited
        ]

    first, second = audited_external_ids(7), audited_external_ids(8)
    expected = random.Random(7)
    assert len(first) == sum(expected.random() < 0.3 for _ in range(40))
    assert 0 < len(first) < 40
    assert audited_external_ids(7) == first  # replays: the stored decision, nothing new drawn

    tasks = Task.objects.filter(purpose="audit")
    assert tasks.count() == len(first) + len(second)
    audit = tasks.first()
    visit = Visit.objects.get(pk=audit.subject_id)
    assert (audit.priority, audit.kind, visit.status, visit.audited) == (-10, "visit_validation", "auto_accepted", True)
    assert visit.receipts.count() == 1


def test_the_module_rng_can_be_seeded_for_reproducible_audits(s001):
    decisions = []
    for _ in range(2):
        routing.audit_rng.seed(11)
        decisions.append(
            [route_decide(store=s001, exited_at=EXITED_AT, confidences=[0.99]).audited for _ in range(200)]
        )
    assert decisions[0] == decisions[1]
    assert any(decisions[0])  # 2 % of 200


def test_an_audit_rate_of_zero_never_audits_and_one_always_does(s001):
    rng = random.Random(1)
    s001.audit_rate = 0.0
    assert not any(route_decide(store=s001, exited_at=EXITED_AT, confidences=[1.0], rng=rng).audited for _ in range(50))
    s001.audit_rate = 1.0
    assert all(route_decide(store=s001, exited_at=EXITED_AT, confidences=[1.0], rng=rng).audited for _ in range(50))


def test_visits_sent_to_review_are_never_audited(s001):
    s001.audit_rate = 1.0
    decision = route_decide(store=s001, exited_at=EXITED_AT, confidences=[0.1], rng=random.Random(1))

    assert (decision.status, decision.audited) == ("pending_review", False)
