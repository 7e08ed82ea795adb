"""Disputes: `POST /api/v1/visits/{id}/disputes/` and the supervisors' door, end to end
through review by someone else and a corrected (or confirmed) receipt."""

import json
import uuid

import pytest
from django.urls import reverse

from annotator.models import Task, TaskExclusion
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from tests.conftest import session_client, token_client
from tests.validation.bodies import event_body, visit_body
from tests.validation.review import associate, fixed_rng, make_snippet, pending_visit, validate, verdicts
from validation.models import CartCorrection, Dispute, Receipt, Visit, WebhookEvent
from validation.services import visit_ingest

pytestmark = pytest.mark.django_db


def url(visit) -> str:
    return f"/api/v1/visits/{visit.id}/disputes/"


@pytest.fixture
def dave(s001):
    return associate(s001, "dave")


@pytest.fixture
def validated(s001, alice, dave):
    """A visit alice validated, rejecting its SKU-0002 event: billed SKU-0001 only."""
    visit, task = pending_visit(s001)
    validate(alice, task, verdicts(visit, None, {"verdict": "reject"}))
    visit.refresh_from_db()
    return visit


def test_a_dispute_goes_to_someone_else_and_ends_in_a_corrected_receipt(validated, s001_integration, alice, dave):
    first = Receipt.objects.get(visit=validated)

    response = token_client(s001_integration).post(
        url(validated), {"reason": "I did take the second item", "sku": "SKU-0002"}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    dispute = Dispute.objects.get()
    assert body["id"] == str(dispute.id)
    assert (body["visit"], body["status"], body["reason"], body["sku"]) == (
        str(validated.id),
        "open",
        "I did take the second item",
        "SKU-0002",
    )
    assert body["outcome"] is None
    task = Task.objects.get(pk=body["task_id"])
    assert (task.purpose, task.priority, task.overlap, task.kind) == ("dispute", 100, 1, "visit_validation")
    assert task.payload["dispute"]["reason"] == "I did take the second item"
    assert "shopper" not in json.dumps(task.payload)
    assert Visit.objects.get(pk=validated.pk).status == Visit.Status.DISPUTED
    assert dispute.opened_by == s001_integration
    exclusion = TaskExclusion.objects.get(task=task)
    assert (exclusion.user, exclusion.cause) == (alice, "previous_validator")

    # alice validated it before: never offered to her; dave gets it first in line.
    assert task_claim(associate=alice) is None
    validate(dave, task, verdicts(validated))

    dispute.refresh_from_db()
    assert (dispute.status, dispute.outcome) == ("resolved", "corrected")
    corrected = Receipt.objects.get(supersedes=first)
    assert dispute.receipt == corrected
    assert (corrected.kind, corrected.total_minor) == ("receipt.corrected", 300)
    visit = Visit.objects.get(pk=validated.pk)
    assert visit.status == Visit.Status.VALIDATED
    assert [(line["sku"], line["quantity"]) for line in visit.final_cart] == [("SKU-0001", 1), ("SKU-0002", 1)]
    assert [(c.sku, c.delta, c.reason) for c in CartCorrection.objects.filter(receipt=corrected)] == [
        ("SKU-0002", 1, "disputed")
    ]
    event = WebhookEvent.objects.get(receipt=corrected)
    assert event.type == "receipt.corrected"
    assert event.payload["data"]["difference"] == {
        "total_minor": 200,
        "lines": [{"sku": "SKU-0002", "name": "S001 product 2", "quantity": 1, "total_minor": 200}],
    }
    # The visit shows the dispute's task and the latest receipt.
    detail = token_client(s001_integration).get(f"/api/v1/visits/{visit.id}/").json()
    assert detail["receipt"]["id"] == str(corrected.id)
    assert detail["status"] == "validated"


@pytest.fixture
def filmed(s001, alice, dave):
    """A visit whose two events were filmed (snippets snip-1 and snip-2), validated by alice;
    returns it with its review task."""
    make_snippet(s001, "snip-1")
    make_snippet(s001, "snip-2")
    events = [
        event_body(1, snippet="snip-1", confidence=0.5),
        event_body(2, sku="SKU-0002", snippet="snip-2", confidence=0.6),
        event_body(3, sku="SKU-0003", confidence=0.7),
    ]
    visit, review = pending_visit(s001, events)
    validate(alice, review, verdicts(visit))
    visit.refresh_from_db()
    return visit, review


def assert_dispute_carries_the_snippets(dispute_task: Task, review: Task):
    """Like the review task: the snippets linked (their media is the lease holder's to see)
    and named by the payload's events."""
    assert set(dispute_task.snippets.all()) == set(review.snippets.all())
    assert dispute_task.snippets.count() == 2
    said = [event["snippet"] for event in dispute_task.payload["events"]]
    assert said == [event["snippet"] for event in review.payload["events"]]
    assert said[2] is None and None not in said[:2]


def test_a_dispute_of_a_filmed_visit_carries_its_snippets(filmed, s001_integration, dave):
    visit, review = filmed

    response = token_client(s001_integration).post(
        url(visit), {"reason": "charged for an item I put back", "sku": "SKU-0001"}, format="json"
    )

    assert response.status_code == 201, response.content
    task = Task.objects.get(pk=response.json()["task_id"])
    assert_dispute_carries_the_snippets(task, review)
    assert Visit.objects.get(pk=visit.pk).status == Visit.Status.DISPUTED
    validate(dave, task, verdicts(visit, {"verdict": "reject"}))
    assert Dispute.objects.get().outcome == "corrected"


def test_a_dispute_that_finds_the_receipt_right_confirms_it(validated, s001_integration, dave):
    token_client(s001_integration).post(url(validated), {"reason": "wrong"}, format="json")
    task = Task.objects.get(purpose="dispute")

    validate(dave, task, verdicts(validated, None, {"verdict": "reject"}))

    dispute = Dispute.objects.get()
    assert (dispute.outcome, dispute.receipt) == ("confirmed", None)
    assert Receipt.objects.filter(visit=validated).count() == 1
    assert WebhookEvent.objects.count() == 1
    assert Visit.objects.get(pk=validated.pk).status == Visit.Status.VALIDATED


def test_a_dispute_of_an_auto_accepted_visit_explains_the_change_by_event(s001, s001_integration, dave):
    result = visit_ingest(store=s001, payload=visit_body(), rng=fixed_rng(1.0))
    visit = result.visit
    response = token_client(s001_integration).post(url(visit), {"reason": "never took it"}, format="json")
    assert response.status_code == 201
    assert not TaskExclusion.objects.exists()  # nobody validated it before

    validate(dave, Task.objects.get(pk=response.json()["task_id"]), verdicts(visit, None, {"verdict": "reject"}))

    event = visit.events.order_by("seq")[1]
    assert [(c.sku, c.delta, c.reason, c.event_id) for c in CartCorrection.objects.all()] == [
        ("SKU-0002", -1, "rejected", event.id)
    ]
    assert Receipt.objects.get(supersedes=result.receipt).total_minor == 100


def test_a_second_dispute_while_one_is_open_is_a_conflict(validated, s001_integration):
    client = token_client(s001_integration)
    assert client.post(url(validated), {"reason": "first"}, format="json").status_code == 201

    response = client.post(url(validated), {"reason": "second"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "dispute_open"
    assert Dispute.objects.count() == 1
    assert Task.objects.filter(purpose="dispute").count() == 1


def test_once_resolved_a_visit_can_be_disputed_again(validated, s001_integration, dave):
    client = token_client(s001_integration)
    client.post(url(validated), {"reason": "first"}, format="json")
    validate(dave, Task.objects.get(purpose="dispute"), verdicts(validated, None, {"verdict": "reject"}))

    response = client.post(url(validated), {"reason": "again"}, format="json")

    assert response.status_code == 201
    task = Task.objects.get(pk=response.json()["task_id"])
    assert set(TaskExclusion.objects.filter(task=task).values_list("user__username", flat=True)) == {"alice", "dave"}


def test_a_visit_still_in_review_cannot_be_disputed(s001, s001_integration):
    visit, _ = pending_visit(s001)

    response = token_client(s001_integration).post(url(visit), {"reason": "too slow"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_receipt"
    assert not Dispute.objects.exists()


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "required", "reason"),
        ({"reason": "   "}, "required", "reason"),
        ({"reason": 42}, "required", "reason"),
        ({"reason": "x" * 501}, "max_length", "reason"),
        ({"reason": "wrong item", "sku": "SKU-9999"}, "unknown_sku", "sku"),
        ({"reason": "wrong item", "sku": ["SKU-0001"]}, "unknown_sku", "sku"),
        # Text the database cannot take: refused before the product lookup and the writes.
        ({"reason": "charged for \ud800"}, "surrogate_characters_not_allowed", "reason"),
        ({"reason": "charged\x00"}, "null_characters_not_allowed", "reason"),
        ({"reason": "wrong item", "sku": "\ud800"}, "surrogate_characters_not_allowed", "sku"),
        ({"reason": "wrong item", "sku": "SKU-0001\x00"}, "null_characters_not_allowed", "sku"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(validated, s001_integration, body, code, field):
    tasks = Task.objects.count()

    # json.dumps writes a lone surrogate as the escape a client sends (`\ud800`).
    response = token_client(s001_integration).generic(
        "POST", url(validated), json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == field
    assert not Dispute.objects.exists()
    assert Task.objects.count() == tasks
    assert Visit.objects.get(pk=validated.pk).status == Visit.Status.VALIDATED


def test_a_reason_of_500_characters_is_accepted(validated, s001_integration):
    response = token_client(s001_integration).post(url(validated), {"reason": "x" * 500}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("who", "status"),
    [("s002_integration", 404), ("alice", 403), ("carol", 403), ("sam", 403)],
)
def test_only_the_stores_integrations_may_dispute(validated, request, who, status):
    user = request.getfixturevalue(who)
    tasks = Task.objects.count()

    response = token_client(user).post(url(validated), {"reason": "wrong"}, format="json")

    assert response.status_code == status
    assert not Dispute.objects.exists()
    assert Task.objects.count() == tasks
    assert str(validated.id) not in response.content.decode()


def test_anonymous_callers_are_refused(validated, api):
    assert api.post(url(validated), {"reason": "wrong"}, format="json").status_code == 401


def test_an_unknown_or_malformed_visit_id_is_not_found(s001, s001_integration):
    client = token_client(s001_integration)
    assert client.post(f"/api/v1/visits/{uuid.uuid4()}/disputes/", {"reason": "x"}, format="json").status_code == 404
    assert client.post("/api/v1/visits/nope/disputes/", {"reason": "x"}, format="json").status_code == 404


# The supervisors' door ------------------------------------------------------------------


def view_url(visit) -> str:
    return reverse("validation:dispute_open", kwargs={"visit_id": visit.id})


def test_a_supervisor_opens_a_dispute_from_the_console(validated, carol, alice):
    response = session_client(carol).post(view_url(validated), {"reason": "shopper called", "next": "/supervise/"})

    assert response.status_code == 302
    assert response["Location"] == "/supervise/"
    dispute = Dispute.objects.get()
    assert (dispute.opened_by, dispute.reason, dispute.task.purpose) == (carol, "shopper called", "dispute")
    assert TaskExclusion.objects.filter(task=dispute.task, user=alice).exists()


def test_a_supervisors_dispute_of_a_filmed_visit_carries_its_snippets(filmed, carol):
    visit, review = filmed

    response = session_client(carol).post(view_url(visit), {"reason": "shopper called", "sku": "SKU-0001"})

    assert response.status_code == 302
    assert_dispute_carries_the_snippets(Dispute.objects.get().task, review)


def test_the_htmx_door_answers_204_with_an_event(validated, carol):
    response = session_client(carol).post(view_url(validated), {"reason": "shopper called"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 204
    assert "disputeOpened" in response["HX-Trigger"]
    assert Dispute.objects.count() == 1


def test_the_htmx_door_shows_the_services_refusal(validated, carol):
    response = session_client(carol).post(view_url(validated), {"reason": ""}, HTTP_HX_REQUEST="true")

    assert response.status_code == 400
    assert not Dispute.objects.exists()


def test_the_console_door_refuses_a_nul_in_the_reason(validated, carol):
    response = session_client(carol).post(view_url(validated), {"reason": "shopper\x00called"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 400
    assert not Dispute.objects.exists()
    assert Visit.objects.get(pk=validated.pk).status == Visit.Status.VALIDATED


def test_an_offsite_next_is_not_followed(validated, carol):
    response = session_client(carol).post(view_url(validated), {"reason": "x", "next": "https://evil.example/"})
    assert response["Location"] == "/"


@pytest.mark.parametrize(("who", "status"), [("sam", 404), ("alice", 403), ("s001_integration", 403)])
def test_the_console_door_is_for_the_stores_supervisors(validated, request, who, status):
    response = session_client(request.getfixturevalue(who)).post(view_url(validated), {"reason": "x"})

    assert response.status_code == status
    assert not Dispute.objects.exists()


def test_the_same_submit_retried_does_not_apply_twice(validated, s001_integration, dave):
    token_client(s001_integration).post(url(validated), {"reason": "x"}, format="json")
    task = Task.objects.get(purpose="dispute")
    task_claim(associate=dave)
    submission_id = uuid.uuid4()
    result = {"events": verdicts(validated), "missed": [{"sku": "SKU-0003", "action": "take", "quantity": 1}]}
    for _ in range(2):
        task_submit(associate=dave, task_id=task.pk, result=result, submission_id=submission_id)

    assert Receipt.objects.filter(visit=validated).count() == 2
    assert WebhookEvent.objects.count() == 2
