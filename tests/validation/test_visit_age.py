"""A visit from 1970 is refused: its deadline (exit + SLA) would be decades past, so it would
take the head of its queue (earliest deadline first) and stay breached for ever. The limit is
VISIT_MAX_AGE_DAYS (30) back, as MAX_AHEAD (a day) is forward; both doors (single and bulk)."""

import datetime as dt

import pytest
from django.utils import timezone

from annotator.models import Task
from tests.conftest import token_client
from tests.validation.bodies import event_body, visit_body
from validation.models import Visit

URL = "/api/v1/visits/"


@pytest.fixture(autouse=True)
def thirty_days(settings):
    settings.VISIT_MAX_AGE_DAYS = 30  # the default (the suite's pinned bodies run with more)


@pytest.fixture
def cv(s001_integration):
    return token_client(s001_integration)


def visit_at(exited_at: dt.datetime, **overrides) -> dict:
    entered_at = exited_at - dt.timedelta(minutes=8)
    events = [event_body(1, confidence=0.3, occurred_at=(entered_at + dt.timedelta(minutes=2)).isoformat())]
    body = {"entered_at": entered_at.isoformat(), "exited_at": exited_at.isoformat(), "events": events}
    return visit_body(**(body | overrides))


def test_a_visit_from_1970_is_refused_naming_its_field_and_stores_nothing(cv, s001):
    response = cv.post(URL, visit_at(dt.datetime(1970, 1, 1, 0, 10, tzinfo=dt.UTC)), format="json")

    assert response.status_code == 400, response.content
    assert response.json() == {
        "error": {
            "code": "too_old",
            "detail": "The timestamp is more than 30 days in the past (VISIT_MAX_AGE_DAYS).",
            "field": "entered_at",
        }
    }
    assert not Visit.objects.exists() and not Task.objects.exists()


def test_an_event_older_than_the_limit_is_refused_too(cv, s001):
    body = visit_at(timezone.now() - dt.timedelta(hours=1))
    body["events"][0]["occurred_at"] = "1970-01-01T00:00:00Z"

    response = cv.post(URL, body, format="json")

    assert (response.status_code, response.json()["error"]["field"]) == (400, "events[0].occurred_at")
    assert response.json()["error"]["code"] == "too_old"


def test_a_visit_inside_the_limit_is_accepted_and_queued_by_its_deadline(cv, s001):
    exited_at = timezone.now() - dt.timedelta(days=29)
    response = cv.post(URL, visit_at(exited_at), format="json")

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending_review"


def test_the_limit_follows_the_setting(cv, s001, settings):
    settings.VISIT_MAX_AGE_DAYS = 2
    response = cv.post(URL, visit_at(timezone.now() - dt.timedelta(days=3)), format="json")

    assert response.status_code == 400
    assert response.json()["error"]["detail"] == "The timestamp is more than 2 days in the past (VISIT_MAX_AGE_DAYS)."


def test_bulk_refuses_the_old_visit_and_stores_the_others(cv, s001):
    now = timezone.now()
    visits = [
        visit_at(now - dt.timedelta(minutes=5), external_id="v-today"),
        visit_at(dt.datetime(1970, 1, 1, 0, 10, tzinfo=dt.UTC), external_id="v-1970"),
        visit_at(now - dt.timedelta(days=31), external_id="v-last-month"),
    ]

    response = cv.post(URL + "bulk/", {"visits": visits}, format="json")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["external_id"], r["status_code"]) for r in results] == [
        ("v-today", 201),
        ("v-1970", 400),
        ("v-last-month", 400),
    ]
    assert {r["body"]["error"]["code"] for r in results[1:]} == {"too_old"}
    assert list(Visit.objects.values_list("external_id", flat=True)) == ["v-today"]
    # Only today's visit is queued; nothing decades past its deadline heads the queue.
    assert Task.objects.count() == 1


def test_a_visit_stored_in_time_is_answered_as_a_replay_after_the_limit(cv, s001, settings):
    """A sender retrying late (its first answer lost) gets the answer it missed, not 400: the
    idempotency on store + external_id holds at any age. A new visit that old is refused."""
    body = visit_at(timezone.now() - dt.timedelta(days=20), external_id="v-late")
    first = cv.post(URL, body, format="json")
    assert first.status_code == 201, first.content
    settings.VISIT_MAX_AGE_DAYS = 10  # the visit is now past the limit

    again = cv.post(URL, body, format="json")
    assert again.status_code == 200, again.content
    assert again.json() == first.json()

    other = visit_at(timezone.now() - dt.timedelta(days=20), external_id="v-late")
    other["events"][0]["quantity"] = 2
    conflict = cv.post(URL, other, format="json")
    assert conflict.status_code == 409, conflict.content
    assert conflict.json()["error"]["code"] == "duplicate_external_id"

    unseen = cv.post(URL, visit_at(timezone.now() - dt.timedelta(days=20), external_id="v-unseen"), format="json")
    assert (unseen.status_code, unseen.json()["error"]["code"]) == (400, "too_old")
    assert list(Visit.objects.values_list("external_id", flat=True)) == ["v-late"]
    assert Task.objects.count() == 1


def test_bulk_answers_a_late_replay_and_still_refuses_a_new_old_visit(cv, s001, settings):
    body = visit_at(timezone.now() - dt.timedelta(days=20), external_id="v-late")
    first = cv.post(URL, body, format="json")
    settings.VISIT_MAX_AGE_DAYS = 10
    unseen = visit_at(timezone.now() - dt.timedelta(days=20), external_id="v-unseen")

    response = cv.post(URL + "bulk/", {"visits": [body, unseen]}, format="json")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["external_id"], r["status_code"]) for r in results] == [("v-late", 200), ("v-unseen", 400)]
    assert results[0]["body"] == first.json()
    assert results[1]["body"]["error"]["code"] == "too_old"
    assert Visit.objects.count() == 1


def test_a_late_replay_is_found_only_in_the_callers_store_and_only_for_a_sound_body(
    cv, s001, s002, s002_integration, settings
):
    """Another store's integration sending an old body under S001's external_id meets no
    visit of its own store: 400 `too_old`, nothing of S001's in the answer. An old replay whose
    body has another fault is answered `too_old` too, not 200."""
    body = visit_at(timezone.now() - dt.timedelta(days=20), external_id="v-late")
    assert cv.post(URL, body, format="json").status_code == 201
    settings.VISIT_MAX_AGE_DAYS = 10

    elsewhere = token_client(s002_integration).post(URL, dict(body, store="S002"), format="json")
    assert (elsewhere.status_code, elsewhere.json()["error"]["code"]) == (400, "too_old")
    assert "id" not in elsewhere.json()

    faulty = dict(body, events=[dict(body["events"][0], quantity=-1)])
    answered = cv.post(URL, faulty, format="json")
    assert (answered.status_code, answered.json()["error"]["code"]) == (400, "too_old")
    assert Visit.objects.count() == 1
