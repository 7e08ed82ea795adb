"""Ingestion's query budget: a single visit in a handful of round trips, a bulk request in a
fixed number whatever its size, and the bulk write path answering exactly as the single one."""

from unittest import mock

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from annotator.models import Slot, Task
from tests.conftest import token_client
from tests.validation.bodies import event_body, visit_body
from validation.models import Event, Receipt, ReceiptLine, Visit, WebhookDelivery, WebhookEvent
from validation.services import ingest
from validation.webhooks import webhook_endpoint_create

URL = "/api/v1/visits/"
BULK_URL = "/api/v1/visits/bulk/"


@pytest.fixture
def cv(s001_integration):
    return token_client(s001_integration)


def sure(n: int = 10) -> dict:
    return visit_body(events=[event_body(i, sku=f"SKU-000{i % 5 + 1}", confidence=0.95) for i in range(n)])


def unsure(n: int = 10) -> dict:
    return visit_body(events=[event_body(i, sku=f"SKU-000{i % 5 + 1}", confidence=0.3) for i in range(n)])


def queries(client, url: str, body: dict) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as context:
        response = client.post(url, body, format="json")
    return len(context), response


def test_a_single_visit_is_stored_in_a_handful_of_queries(cv, s001):
    cv.post(URL, unsure(1), format="json")  # creates the store's queue

    # auth token + groups, store, stored visit?, products, cameras, [queue], then in one
    # transaction (a savepoint under the test's transaction): visit, events, and either task
    # + slots or receipt + lines + webhook event + endpoints. Was 17-18 with savepoints per
    # step, the queue's get_or_create and the DRF shape check.
    pending, response = queries(cv, URL, unsure())
    assert response.status_code == 201
    assert pending <= 13

    accepted, response = queries(cv, URL, sure())
    assert (response.status_code, response.json()["status"]) == (201, "auto_accepted")
    assert accepted <= 14


def test_a_replay_reads_a_few_rows_and_writes_nothing(cv, s001):
    body = sure()
    cv.post(URL, body, format="json")

    count, response = queries(cv, URL, body)

    assert response.status_code == 200
    assert count <= 8


def bulk_queries(cv, n: int, events: int) -> int:
    count, response = queries(cv, BULK_URL, {"visits": [sure(events) if i % 3 else unsure(events) for i in range(n)]})
    assert {item["status_code"] for item in response.json()["results"]} == {201}
    return count


def test_a_bulk_request_makes_as_many_queries_for_10_visits_as_for_3(cv, s001):
    cv.post(URL, unsure(1), format="json")  # creates the store's queue

    # auth x2, stores, stored visits, products, cameras, savepoint, visits, events, receipts,
    # lines, webhook events, endpoints, tasks, slots, release. (Small enough for one INSERT
    # per table under SQLite's limit on query parameters.)
    assert bulk_queries(cv, 10, 2) == bulk_queries(cv, 3, 2) <= 17


@pytest.mark.postgres_only
def test_a_bulk_request_of_250_visits_makes_as_many_queries_as_one_of_5(cv, s001):
    cv.post(URL, unsure(1), format="json")

    assert bulk_queries(cv, 250, 10) == bulk_queries(cv, 5, 10) <= 17


def test_bulk_writes_what_one_by_one_posts_write(cv, s001):
    bodies = [sure(3), unsure(3), sure(2)]
    bulk = cv.post(BULK_URL, {"visits": bodies}, format="json").json()["results"]

    assert [item["status_code"] for item in bulk] == [201, 201, 201]
    for body, item in zip(bodies, bulk, strict=True):
        again = cv.post(URL, body, format="json")
        assert (again.status_code, again.json()) == (200, item["body"])
    assert Event.objects.count() == 8
    assert Receipt.objects.count() == 2
    assert ReceiptLine.objects.count() == 5
    task = Task.objects.get()
    assert (task.subject_id, task.purpose, Slot.objects.get().task_id) == (
        Visit.objects.get(status="pending_review").id,
        "review",
        task.id,
    )
    assert [e["external_id"] for e in task.payload["events"]] == ["e0", "e1", "e2"]


def test_a_visit_twice_in_one_batch_is_stored_once_then_replayed_or_refused(cv, s001):
    body = sure(2)
    other = {**body, "shopper": "anon-other"}

    results = cv.post(BULK_URL, {"visits": [body, body, other]}, format="json").json()["results"]

    assert [item["status_code"] for item in results] == [201, 200, 409]
    assert results[1]["body"] == results[0]["body"]
    assert results[2]["body"]["error"]["code"] == "duplicate_external_id"
    assert Visit.objects.count() == 1


def test_a_batch_that_hits_a_unique_race_is_stored_visit_by_visit(cv, s001):
    stored = sure(2)
    cv.post(URL, stored, format="json")
    raced = {**stored, "shopper": "anon-raced"}
    bodies = [sure(2), raced, unsure(2)]
    real_write = ingest._write
    calls = []

    def write_missing_the_race(planned, catalogs):
        # The batch's look-up happened before another request stored `raced`'s external_id:
        # the batch INSERT then fails on the unique constraint, as under a real race.
        calls.append(len(planned))
        if len(calls) == 1:
            raise IntegrityError("duplicate key value violates unique constraint")
        return real_write(planned, catalogs)

    with (
        mock.patch.object(ingest, "_write", write_missing_the_race),
        mock.patch.object(ingest.StoreCatalog, "load", autospec=True, side_effect=_forgetting(stored)),
    ):
        results = cv.post(BULK_URL, {"visits": bodies}, format="json").json()["results"]

    assert [item["status_code"] for item in results] == [201, 409, 201]
    assert calls == [3, 1, 1]
    assert Visit.objects.count() == 3


def _forgetting(body: dict):
    """StoreCatalog.load as if `body`'s visit had not been stored yet when it looked."""
    real_load = ingest.StoreCatalog.load

    def load(self, **kwargs):
        real_load(self, **kwargs)
        if body["external_id"] in self.visits:
            self.visits[body["external_id"]] = None

    return load


@pytest.mark.django_db(transaction=True)
def test_bulk_receipts_get_their_webhook_event_delivery_and_queued_run(cv, s001, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    endpoint, _ = webhook_endpoint_create(url="http://127.0.0.1:9/hook", events=["receipt.issued"])

    results = cv.post(BULK_URL, {"visits": [sure(2), sure(3), unsure(2)]}, format="json").json()["results"]

    assert [item["status_code"] for item in results] == [201, 201, 201]
    receipts = list(Receipt.objects.all())
    assert len(receipts) == 2
    for receipt in receipts:
        event = WebhookEvent.objects.get(receipt=receipt)
        assert event.payload["data"]["id"] == str(receipt.id)
        assert event.payload["data"]["lines"]
        delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
        assert delivery.next_attempt_at is not None
        run = DBTaskResult.objects.get(id=delivery.task_result_id)
        assert run.args_kwargs == {"args": [str(delivery.id)], "kwargs": {}}
        assert (run.task_path, run.queue_name) == ("validation.tasks.webhook_deliver", "webhooks")
