"""Evidence on every verdict (API.md v1.1): what a verdict's person did with the event, the
checked / unchecked rule it decides, and audits that refuse events nobody opened."""

import uuid

import pytest

from annotator.models import Annotation, Label
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from infra.errors import LoupeError
from tests.conftest import token_client
from tests.validation.bodies import event_body
from tests.validation.review import OPENED, audited_visit, pending_visit, validate, verdicts

pytestmark = pytest.mark.django_db

SUBMIT = "/api/v1/tasks/{}/submit/"
NEXT = "/api/v1/tasks/next/"


def three_events(store):
    """One low-confidence event and two confident ones."""
    return pending_visit(
        store,
        [
            event_body(1, sku="SKU-0001", confidence=0.4),
            event_body(2, sku="SKU-0002", confidence=0.97),
            event_body(3, sku="SKU-0003", confidence=0.98),
        ],
    )


def submit_api(user, task, events, missed=None):
    client = token_client(user)
    assert client.post(NEXT, {}, format="json").json()["task"]["id"] == str(task.pk)
    return client.post(
        SUBMIT.format(task.pk),
        {"result": {"events": events, "missed": missed or []}, "submission_id": str(uuid.uuid4())},
        format="json",
    )


def test_evidence_is_stored_on_the_label_and_decides_checked(s001, alice):
    visit, task = three_events(s001)
    e1, e2, e3 = (str(e.id) for e in visit.events.order_by("seq"))
    watched = {"opened": True, "watched_ms": 1800, "frames_viewed": 12}
    validate(
        alice,
        task,
        [
            {"event": e1, "verdict": "confirm", "evidence": watched},
            {"event": e2, "verdict": "confirm", "evidence": {"opened": False, "watched_ms": 0, "frames_viewed": 0}},
            {"event": e3, "verdict": "confirm"},
        ],
    )
    labels = {str(label.event_id): label for label in Label.objects.filter(task=task)}
    assert labels[e1].checked is True and labels[e1].evidence == watched
    assert labels[e2].checked is False
    assert labels[e3].checked is False and labels[e3].evidence == {"opened": False, "watched_ms": 0, "frames_viewed": 0}
    assert {label.source for label in labels.values()} == {"associate"}


def test_corrections_rejections_and_missed_items_are_checked_without_evidence(s001, alice):
    visit, task = three_events(s001)
    validate(
        alice,
        task,
        verdicts(visit, {"verdict": "correct", "sku": "SKU-0004"}, {"verdict": "reject"}, opened=False),
        missed=[{"sku": "SKU-0005", "action": "take", "quantity": 1}],
    )
    said = sorted((label.verdict, label.checked) for label in Label.objects.filter(task=task))
    assert said == [("confirm", False), ("correct", True), ("missed", True), ("reject", True)]


@pytest.mark.parametrize(
    ("evidence", "field"),
    [
        ({"opened": "yes"}, "events[0].evidence.opened"),
        ({"opened": True, "watched_ms": "1800"}, "events[0].evidence.watched_ms"),
        ({"opened": True, "watched_ms": -1}, "events[0].evidence.watched_ms"),
        ({"opened": True, "watched_ms": 1.5}, "events[0].evidence.watched_ms"),
        ({"opened": True, "frames_viewed": -3}, "events[0].evidence.frames_viewed"),
        ({"opened": True, "frames_viewed": True}, "events[0].evidence.frames_viewed"),
        ({"opened": True, "seen": 1}, "events[0].evidence.seen"),
        ("opened", "events[0].evidence"),
        ([1, 2], "events[0].evidence"),
    ],
)
def test_bad_evidence_is_400_naming_the_field_and_stores_nothing(s001, alice, evidence, field):
    visit, task = pending_visit(s001)
    events = verdicts(visit)
    events[0]["evidence"] = evidence
    response = submit_api(alice, task, events)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert not Annotation.objects.filter(task=task).exists()
    assert not Label.objects.filter(task=task).exists()


def test_unsure_on_a_missed_item_is_400(s001, alice):
    visit, task = pending_visit(s001)
    response = submit_api(
        alice, task, verdicts(visit), missed=[{"sku": "SKU-0005", "action": "take", "quantity": 1, "verdict": "unsure"}]
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "missed[0].verdict"
    assert not Annotation.objects.filter(task=task).exists()


def test_an_audit_refuses_an_event_nobody_opened(s001, alice):
    visit, task = audited_visit(s001)
    events = verdicts(visit)
    del events[1]["evidence"]
    response = submit_api(alice, task, events)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "not_checked",
        "detail": response.json()["error"]["detail"],
        "field": "events[1]",
    }
    assert not Annotation.objects.filter(task=task).exists()
    visit.refresh_from_db()
    assert visit.audit_outcome == ""


def test_an_audit_with_every_event_opened_or_changed_goes_through(s001, alice):
    visit, task = audited_visit(s001)
    events = verdicts(visit, None, {"verdict": "reject"})
    del events[1]["evidence"]  # a rejection is checked without evidence
    validate(alice, task, events)
    visit.refresh_from_db()
    assert visit.audit_outcome == "corrected"


def test_the_service_refuses_an_unopened_audit_confirm_the_same_way(s001, alice):
    visit, task = audited_visit(s001)
    assert task_claim(associate=alice).task.pk == task.pk
    with pytest.raises(LoupeError) as caught:
        task_submit(
            associate=alice,
            task_id=task.pk,
            result={"events": verdicts(visit, opened=False), "missed": []},
            submission_id=uuid.uuid4(),
        )
    assert (caught.value.code, caught.value.field) == ("not_checked", "events[0]")


def test_the_labels_feed_carries_checked_source_and_evidence(s001, alice, carol):
    visit, task = three_events(s001)
    e1, e2, e3 = (str(e.id) for e in visit.events.order_by("seq"))
    validate(
        alice,
        task,
        [
            {"event": e1, "verdict": "confirm", "evidence": OPENED},
            {"event": e2, "verdict": "confirm"},
            {"event": e3, "verdict": "reject"},
        ],
    )
    results = token_client(carol).get("/api/v1/labels/").json()["results"]
    by_event = {row["event"]: row for row in results}
    assert (by_event[e1]["checked"], by_event[e2]["checked"], by_event[e3]["checked"]) == (True, False, True)
    assert {row["source"] for row in results} == {"associate"}
    assert by_event[e1]["evidence"] == OPENED
