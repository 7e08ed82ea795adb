"""POST /api/v1/visits/bulk/: each item answers what the single endpoint would."""

import json

import pytest

from annotator.models import Task
from tests.conftest import token_client
from tests.validation.bodies import event_body, visit_body
from validation.models import Event, Receipt, Visit

URL = "/api/v1/visits/bulk/"


@pytest.fixture
def cv(s001_integration):
    return token_client(s001_integration)


def test_mixed_good_and_bad_visits_each_get_their_own_answer(cv, s001, s002):
    replayed = visit_body(external_id="v-replayed")
    cv.post("/api/v1/visits/", replayed, format="json")
    conflicting = visit_body(external_id="v-replayed", shopper="someone-else")
    visits = [
        visit_body(external_id="v-sure"),
        visit_body(external_id="v-unsure", events=[event_body(1, confidence=0.2)]),
        visit_body(external_id="v-bad-sku", events=[event_body(1), event_body(2, sku="SKU-0404")]),
        visit_body("S002", external_id="v-other-store"),
        visit_body("S404", external_id="v-no-store"),
        replayed,
        conflicting,
        "not a visit",
        visit_body(external_id="v-nan", events=[event_body(1, confidence=float("nan"))]),
        visit_body(external_id="v-last"),
    ]

    # json.dumps writes the NaN literal, as a careless client would.
    response = cv.generic("POST", URL, json.dumps({"visits": visits}), content_type="application/json")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["external_id"], r["status_code"]) for r in results] == [
        ("v-sure", 201),
        ("v-unsure", 201),
        ("v-bad-sku", 400),
        ("v-other-store", 404),
        ("v-no-store", 404),
        ("v-replayed", 200),
        ("v-replayed", 409),
        (None, 400),
        ("v-nan", 400),
        ("v-last", 201),
    ]
    assert results[0]["body"]["status"] == "auto_accepted"
    assert results[0]["body"]["receipt"]["total_minor"] == 300
    assert results[1]["body"]["status"] == "pending_review"
    assert results[1]["body"]["task_id"] == str(Task.objects.get(purpose="review").id)
    assert results[2]["body"] == {
        "error": {"code": "unknown_sku", "detail": "No product 'SKU-0404' in this store.", "field": "events[1].sku"}
    }
    assert results[3]["body"]["error"]["code"] == "not_found"
    assert results[6]["body"]["error"]["code"] == "duplicate_external_id"
    assert results[8]["body"]["error"] == {
        "code": "out_of_range",
        "detail": "Must be a number between 0 and 1.",
        "field": "events[0].confidence",
    }
    stored = set(Visit.objects.values_list("external_id", flat=True))
    assert stored == {"v-replayed", "v-sure", "v-unsure", "v-last"}
    assert Event.objects.count() == 2 + 2 + 1 + 2
    assert Receipt.objects.count() == 3


def test_a_visit_that_exits_in_year_9999_is_refused_and_the_others_are_stored(cv, s001):
    visits = [
        visit_body(external_id="v-good"),
        visit_body(external_id="v-9999", exited_at="9999-12-31T23:59:00Z", events=[event_body(1, confidence=0.3)]),
        visit_body(external_id="v-overflow", exited_at="9999-12-31T23:59:59-14:00"),
        visit_body(external_id="v-after", events=[event_body(1, confidence=0.3)]),
    ]

    response = cv.post(URL, {"visits": visits}, format="json")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["external_id"], r["status_code"]) for r in results] == [
        ("v-good", 201),
        ("v-9999", 400),
        ("v-overflow", 400),
        ("v-after", 201),
    ]
    assert results[1]["body"]["error"]["code"] == "in_future"
    assert results[1]["body"]["error"]["field"] == "exited_at"
    assert results[2]["body"]["error"] == {
        "code": "overflow",
        "detail": "Datetime value out of range.",
        "field": "exited_at",
    }
    assert set(Visit.objects.values_list("external_id", flat=True)) == {"v-good", "v-after"}
    assert Task.objects.filter(purpose="review").count() == 1


def test_text_the_database_cannot_take_is_refused_per_item(cv, s001):
    visits = [
        visit_body(external_id="v-good"),
        visit_body(external_id="v-surrogate-store", store="\ud800"),
        visit_body(external_id="v-nul-store", store="S\x00"),
        visit_body(external_id="\ud800"),
        visit_body(external_id="v-after"),
    ]

    response = cv.generic("POST", URL, json.dumps({"visits": visits}), content_type="application/json")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["external_id"], r["status_code"]) for r in results] == [
        ("v-good", 201),
        ("v-surrogate-store", 400),
        ("v-nul-store", 400),
        (None, 400),  # not echoed: a lone surrogate cannot be written out as JSON
        ("v-after", 201),
    ]
    assert [(r["body"]["error"]["code"], r["body"]["error"]["field"]) for r in results[1:4]] == [
        ("surrogate_characters_not_allowed", "store"),
        ("null_characters_not_allowed", "store"),
        ("surrogate_characters_not_allowed", "external_id"),
    ]
    assert set(Visit.objects.values_list("external_id", flat=True)) == {"v-good", "v-after"}


def test_a_candidate_sku_unknown_to_the_store_refuses_only_its_visit(cv, s001):
    visits = [
        visit_body(external_id="v-nope", events=[event_body(1, candidates=[{"sku": "NOPE", "score": 0.1}])]),
        visit_body(external_id="v-good", events=[event_body(1, candidates=[{"sku": "SKU-0005", "score": 0.1}])]),
    ]

    results = cv.post(URL, {"visits": visits}, format="json").json()["results"]

    assert [r["status_code"] for r in results] == [400, 201]
    assert results[0]["body"]["error"] == {
        "code": "unknown_sku",
        "detail": "No product 'NOPE' in this store.",
        "field": "events[0].candidates[0].sku",
    }
    assert list(Visit.objects.values_list("external_id", flat=True)) == ["v-good"]


def test_each_item_matches_the_single_endpoint_answer(cv, s001):
    payload = visit_body(events=[event_body(1, confidence=0.3)])
    bulk = cv.post(URL, {"visits": [payload]}, format="json").json()["results"][0]

    single = cv.post("/api/v1/visits/", payload, format="json")

    assert (single.status_code, single.json()) == (200, bulk["body"])


def test_more_than_500_visits_is_refused_whole(cv, s001):
    response = cv.post(URL, {"visits": [visit_body() for _ in range(501)]}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_visits"
    assert Visit.objects.count() == 0


@pytest.mark.parametrize("body", [{}, {"visits": {"a": 1}}])
def test_a_body_without_a_list_of_visits_is_400(cv, s001, body):
    response = cv.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "visits"


@pytest.mark.parametrize("raw", ['{"visits": [', '{"visits": ' + "[" * 100_000 + "]" * 100_000 + "}"])
def test_malformed_json_is_400(cv, s001, raw):
    response = cv.generic("POST", URL, raw, content_type="application/json")

    assert (response.status_code, response.json()["error"]["code"]) == (400, "malformed_request")
    assert not Visit.objects.exists()


def test_associates_may_not_use_bulk(alice, s001):
    assert token_client(alice).post(URL, {"visits": [visit_body()]}, format="json").status_code == 403
    assert Visit.objects.count() == 0


def test_bulk_queries_do_not_grow_per_event(cv, s001, django_assert_max_num_queries):
    cv.post(URL, {"visits": [visit_body(events=[event_body(1, confidence=0.2)])]}, format="json")
    visits = [
        visit_body(events=[event_body(n, sku=f"SKU-000{n % 5 + 1}", confidence=0.5 + n / 100) for n in range(50)])
        for _ in range(20)
    ]

    # Per pending visit: replay check, savepoint, visit, events, task_enqueue's savepoint, task,
    # slots, release; plus auth, stores, catalog and queue once.
    with django_assert_max_num_queries(20 * 9 + 12):
        response = cv.post(URL, {"visits": visits}, format="json")

    assert {r["status_code"] for r in response.json()["results"]} == {201}
