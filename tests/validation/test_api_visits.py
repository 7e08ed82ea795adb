"""POST /api/v1/visits/ and GET /api/v1/visits/{id}/ through real URLs."""

import datetime as dt
import json

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from annotator.models import Slot, Task
from tests.conftest import session_client, token_client
from tests.validation.bodies import event_body, visit_body
from validation.models import CartCorrection, Event, Receipt, Visit

URL = "/api/v1/visits/"


def counts() -> tuple[int, int, int, int]:
    return Visit.objects.count(), Event.objects.count(), Receipt.objects.count(), Task.objects.count()


def post_raw(client, raw: bytes | str, content_type: str = "application/json"):
    return client.generic("POST", URL, raw, content_type=content_type)


def assert_error(response, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["detail"]
    assert error.get("field") == field


@pytest.fixture
def cv(s001_integration):
    return token_client(s001_integration)


def test_a_sure_visit_is_created_with_its_receipt_embedded(cv, s001):
    payload = visit_body(events=[event_body(1, confidence=0.99, quantity=2)])
    response = cv.post(URL, payload, format="json")

    assert response.status_code == 201
    body = response.json()
    visit = Visit.objects.get()
    receipt = Receipt.objects.get()
    assert body == {
        "id": str(visit.id),
        "external_id": payload["external_id"],
        "status": "auto_accepted",
        "due_at": None,
        "task_id": None,
        "receipt": {
            "id": str(receipt.id),
            "visit": str(visit.id),
            "kind": "receipt.issued",
            "lines": [
                {"sku": "SKU-0001", "name": "S001 product 1", "quantity": 2, "price_minor": 100, "total_minor": 200}
            ],
            "total_minor": 200,
            "currency": "EUR",
            "issued_at": receipt.issued_at.isoformat(),
            "supersedes": None,
        },
    }


def test_an_unsure_visit_is_created_pending_review_with_its_task(cv, s001):
    response = cv.post(URL, visit_body(events=[event_body(1, confidence=0.4)]), format="json")

    assert response.status_code == 201
    body = response.json()
    task = Task.objects.get()
    assert (body["status"], body["task_id"], body["receipt"]) == ("pending_review", str(task.id), None)
    assert body["due_at"] == "2026-11-24T10:24:40+00:00"


def test_the_same_body_again_answers_200_with_the_same_visit(cv, s001):
    payload = visit_body(events=[event_body(1, confidence=0.4)])
    first = cv.post(URL, payload, format="json")
    before = counts()

    again = cv.post(URL, payload, format="json")

    assert again.status_code == 200
    assert again.json() == first.json()
    assert counts() == before


def test_a_replay_of_an_auto_accepted_visit_embeds_the_same_receipt(cv, s001):
    payload = visit_body()
    first = cv.post(URL, payload, format="json").json()

    assert cv.post(URL, payload, format="json").json()["receipt"] == first["receipt"]


def test_the_same_external_id_with_another_body_is_409(cv, s001):
    payload = visit_body()
    cv.post(URL, payload, format="json")
    payload["events"][0]["quantity"] = 5
    before = counts()

    response = cv.post(URL, payload, format="json")

    assert_error(response, 409, "duplicate_external_id", "external_id")
    assert counts() == before


def nan_body() -> str:
    return json.dumps(visit_body(events=[event_body(1, confidence=float("nan"))]))


@pytest.mark.parametrize(
    ("raw", "status", "code", "field"),
    [
        ('{"external_id": "v-1", "store": "S001",', 400, "malformed_request", None),
        ("[" * 100_000 + "]" * 100_000, 400, "malformed_request", None),  # deeper than Python's parser
        ("", 400, "required", "store"),
        ("[1, 2]", 400, "not_an_object", None),  # every JSON body is an object (infra.parsers)
        (json.dumps({"store": "S001"}), 400, "required", "external_id"),
        (json.dumps(visit_body(shopper=None)), 400, "null", "shopper"),
        (json.dumps(visit_body(events="e1")), 400, "not_a_list", "events"),
        (json.dumps(visit_body(events=[event_body(1, confidence="0.9")])), 400, "invalid", "events[0].confidence"),
        (nan_body(), 400, "out_of_range", "events[0].confidence"),
        (nan_body().replace("NaN", "Infinity"), 400, "out_of_range", "events[0].confidence"),
        (json.dumps(visit_body(events=[event_body(1, confidence=1.5)])), 400, "out_of_range", "events[0].confidence"),
        (json.dumps(visit_body(events=[event_body(1, confidence=-1)])), 400, "out_of_range", "events[0].confidence"),
        (json.dumps(visit_body(events=[event_body(1, quantity=0)])), 400, "min_value", "events[0].quantity"),
        (json.dumps(visit_body(events=[event_body(1, quantity=-1)])), 400, "min_value", "events[0].quantity"),
        (json.dumps(visit_body(exited_at="2026-11-24T09:00:00Z")), 400, "before_entered_at", "exited_at"),
        (json.dumps(visit_body(entered_at="2026-11-24T10:01:02")), 400, "naive", "entered_at"),
        # Times Python cannot hold in UTC, and one in year 9999 (exit + SLA would not be a date).
        (json.dumps(visit_body(exited_at="9999-12-31T23:59:59-14:00")), 400, "overflow", "exited_at"),
        (json.dumps(visit_body(entered_at="0001-01-01T00:00:00+14:00")), 400, "overflow", "entered_at"),
        (
            json.dumps(visit_body(exited_at="9999-12-31T23:59:00Z", events=[event_body(1, confidence=0.3)])),
            400,
            "in_future",
            "exited_at",
        ),
        (
            json.dumps(visit_body(events=[event_body(1, occurred_at="9999-12-31T23:59:59-14:00")])),
            400,
            "overflow",
            "events[0].occurred_at",
        ),
        (
            json.dumps(visit_body(events=[event_body(1), event_body(1)])),
            400,
            "duplicate_event",
            "events[1].external_id",
        ),
        (json.dumps(visit_body(events=[event_body(n) for n in range(501)])), 400, "too_many_events", "events"),
        (json.dumps(visit_body(events=[event_body(1, sku="SKU-0404")])), 400, "unknown_sku", "events[0].sku"),
        (json.dumps(visit_body(events=[event_body(1, camera="C09")])), 400, "unknown_camera", "events[0].camera"),
        (json.dumps(visit_body(events=[event_body(1, snippet="s-9")])), 400, "unknown_snippet", "events[0].snippet"),
        (
            json.dumps(visit_body(events=[event_body(1, candidates=[{"sku": "NOPE", "score": 0.1}])])),
            400,
            "unknown_sku",
            "events[0].candidates[0].sku",
        ),
        # Text the database cannot take is refused before any query, the store code included.
        (json.dumps(visit_body(store="\ud800")), 400, "surrogate_characters_not_allowed", "store"),
        (json.dumps(visit_body(store="S0\x0001")), 400, "null_characters_not_allowed", "store"),
        (
            json.dumps(visit_body(events=[event_body(1, action="\ud800")])),
            400,
            "surrogate_characters_not_allowed",
            "events[0].action",
        ),
        (json.dumps(visit_body("S404")), 404, "not_found", None),
        (json.dumps(visit_body("S002")), 404, "not_found", None),
    ],
)
def test_bad_input_gets_the_error_shape_and_writes_nothing(cv, s001, s002, raw, status, code, field):
    before = counts()

    response = post_raw(cv, raw)

    assert_error(response, status, code, field)
    assert counts() == before


def test_a_sender_clock_a_little_fast_is_accepted_a_day_ahead_is_not(cv, s001):
    soon = timezone.now() + dt.timedelta(hours=20)
    pending = visit_body(
        entered_at=(soon - dt.timedelta(minutes=5)).isoformat(),
        exited_at=soon.isoformat(),
        events=[event_body(1, confidence=0.3, occurred_at=soon.isoformat())],
    )
    response = cv.post(URL, pending, format="json")
    assert response.status_code == 201, response.content
    due_at = dt.datetime.fromisoformat(response.json()["due_at"])
    assert due_at == soon + dt.timedelta(minutes=s001.sla_minutes)
    before = counts()

    late = timezone.now() + dt.timedelta(hours=25)
    response = cv.post(URL, visit_body(exited_at=late.isoformat()), format="json")

    assert_error(response, 400, "in_future", "exited_at")
    assert counts() == before


def test_a_sku_that_exists_only_in_another_store_is_unknown(s001, s002, s002_integration):
    before = counts()
    response = token_client(s002_integration).post(
        URL, visit_body("S002", events=[event_body(1, sku="SKU-0004")]), format="json"
    )

    assert_error(response, 400, "unknown_sku", "events[0].sku")
    assert counts() == before


def test_a_body_over_the_upload_limit_is_413(cv, s001):
    padding = "x" * (10 * 1024 * 1024)
    raw = json.dumps(visit_body(model_version="m", padding=padding))
    before = counts()

    response = post_raw(cv, raw)

    assert_error(response, 413, "request_too_large")
    assert counts() == before


def test_a_body_that_is_not_json_is_415(cv, s001):
    response = post_raw(cv, "external_id=v-1", content_type="application/x-www-form-urlencoded")

    assert_error(response, 415, "unsupported_media_type")


def test_no_token_is_401(api, s001):
    response = api.post(URL, visit_body(), format="json")

    assert_error(response, 401, "not_authenticated")
    assert Visit.objects.count() == 0


def test_a_bad_token_is_401(api, s001):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    response = api.post(URL, visit_body(), format="json")

    assert_error(response, 401, "authentication_failed")
    assert Visit.objects.count() == 0


def test_a_token_of_another_store_is_404(s001, s002_integration):
    response = token_client(s002_integration).post(URL, visit_body("S001"), format="json")

    assert_error(response, 404, "not_found")
    assert Visit.objects.count() == 0


@pytest.mark.parametrize("persona", ["alice", "carol"])
def test_associates_and_supervisors_may_not_send_visits(request, s001, persona):
    response = token_client(request.getfixturevalue(persona)).post(URL, visit_body(), format="json")

    assert_error(response, 403, "permission_denied")
    assert Visit.objects.count() == 0


def test_a_superuser_may_send_visits_for_any_store(s001):
    admin = User.objects.create_superuser("root", password="pw-loupe-test")

    assert token_client(admin).post(URL, visit_body(), format="json").status_code == 201


# --- GET /api/v1/visits/{id}/ ------------------------------------------------------------


def pending_visit(cv) -> Visit:
    response = cv.post(
        URL, visit_body(events=[event_body(1, confidence=0.5), event_body(2, action="put_back")]), format="json"
    )
    return Visit.objects.get(pk=response.json()["id"])


def detail(client, visit):
    return client.get(f"{URL}{visit.id}/")


def test_integration_reads_the_visit_with_its_carts_and_shopper(cv, s001):
    visit = pending_visit(cv)

    response = detail(cv, visit)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(visit.id)
    assert body["status"] == "pending_review"
    assert body["shopper"] == "anon-7f3a9c"
    assert body["predicted_cart"] == []
    assert body["final_cart"] is None
    assert body["corrections"] == []
    assert body["receipt"] is None
    assert body["task_id"] == str(Task.objects.get().id)
    assert (body["store"], body["decision"], body["threshold"], body["min_confidence"]) == ("S001", "review", 0.9, 0.5)


def test_a_supervisor_of_the_store_reads_the_visit_without_the_shopper(cv, carol, s001):
    visit = pending_visit(cv)

    response = detail(session_client(carol), visit)

    assert response.status_code == 200
    assert "shopper" not in response.json()
    assert "anon-7f3a9c" not in response.content.decode()


def test_a_pending_visit_with_a_live_lease_reads_as_in_review(cv, alice, s001):
    visit = pending_visit(cv)
    slots = Slot.objects.filter(task__subject_id=visit.id)
    slots.update(holder=alice, lease_expires_at=timezone.now() + dt.timedelta(minutes=5))

    assert detail(cv, visit).json()["status"] == "in_review"

    slots.update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert detail(cv, visit).json()["status"] == "pending_review"


def test_corrections_are_listed(cv, s001):
    visit = pending_visit(cv)
    event = visit.events.first()
    CartCorrection.objects.create(visit=visit, sku="SKU-0002", delta=1, reason="wrong_sku", event=event)

    assert detail(cv, visit).json()["corrections"] == [
        {"sku": "SKU-0002", "delta": 1, "reason": "wrong_sku", "event": str(event.id)}
    ]


def test_the_visit_of_another_store_is_404_for_its_integration_and_supervisor(cv, s001, sam, s002_integration):
    visit = pending_visit(cv)

    assert_error(detail(token_client(s002_integration), visit), 404, "not_found")
    assert_error(detail(session_client(sam), visit), 404, "not_found")


def test_associates_may_not_read_visits_even_of_their_store(cv, alice, s001):
    assert_error(detail(token_client(alice), pending_visit(cv)), 403, "permission_denied")


def test_an_unknown_or_malformed_visit_id_is_404(cv, s001):
    assert_error(cv.get(f"{URL}00000000-0000-0000-0000-000000000000/"), 404, "not_found")
    assert_error(cv.get(f"{URL}not-a-uuid/"), 404, "not_found")


def test_reading_a_visit_needs_credentials(api, cv, s001):
    assert_error(detail(api, pending_visit(cv)), 401, "not_authenticated")
