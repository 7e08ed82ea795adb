"""Billing webhook deliveries against a real receiver on loopback, run by the real worker."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from infra.errors import Conflict
from tests.conftest import session_client
from tests.validation.webhook_receiver import (
    Receiver,
    as_json,
    issue,
    make_due,
    make_visit,
    queued_runs,
    run_worker,
)
from validation import tasks
from validation.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from validation.services import receipt_data
from validation.tasks import webhook_deliver
from validation.webhooks import deliveries_replay_failed, delivery_replay, webhook_endpoint_create

pytestmark = pytest.mark.django_db

CART = [{"sku": "SKU-0001", "quantity": 2}, {"sku": "SKU-0003", "quantity": 1}]


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def endpoint(receiver):
    endpoint, secret = webhook_endpoint_create(url=receiver.url, events=["receipt.issued", "receipt.corrected"])
    receiver.secret = secret
    return endpoint


@pytest.fixture
def highest_jitter(monkeypatch):
    """Full jitter drawn at its ceiling, so the backoff is predictable."""
    monkeypatch.setattr(tasks.random, "uniform", lambda low, high: high)


def attempts_of(delivery: WebhookDelivery) -> list[DeliveryAttempt]:
    return list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))


def test_an_issued_receipt_arrives_signed_with_the_receipt_as_the_api_shows_it(s001, endpoint, receiver):
    receiver.start()
    receipt = issue(make_visit(s001), CART)

    run_worker()

    event = WebhookEvent.objects.get(receipt=receipt)
    [received] = receiver.received
    assert received.error == ""
    assert received.path == "/billing/webhooks"
    assert received.webhook_id == event.webhook_id
    assert received.headers["webhook-signature"].startswith("v1,")
    assert received.headers["content-type"] == "application/json"
    body = received.payload
    assert body["type"] == "receipt.issued"
    assert dt.datetime.fromisoformat(body["timestamp"]) == event.created_at
    assert body["data"] == as_json(receipt_data(receipt))
    assert {"id", "visit", "lines", "total_minor", "currency", "issued_at", "supersedes"} <= body["data"].keys()
    assert body["data"]["lines"] == [
        {"sku": "SKU-0001", "name": "S001 product 1", "quantity": 2, "price_minor": 100, "total_minor": 200},
        {"sku": "SKU-0003", "name": "S001 product 3", "quantity": 1, "price_minor": 300, "total_minor": 300},
    ]
    assert body["data"]["total_minor"] == 500
    assert body["data"]["currency"] == "EUR"
    assert body["data"]["supersedes"] is None
    delivery = WebhookDelivery.objects.get(event=event)
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 1
    assert delivery.delivered_at is not None
    assert delivery.next_attempt_at is None
    [attempt] = attempts_of(delivery)
    assert (attempt.status_code, attempt.error) == (200, "")
    assert 0 <= attempt.latency_ms < 5000


def test_a_delivered_delivery_is_not_sent_again_by_a_duplicate_run(s001, endpoint, receiver):
    receiver.start()
    receipt = issue(make_visit(s001), CART)
    run_worker()
    delivery = WebhookDelivery.objects.get(event__receipt=receipt)

    webhook_deliver.enqueue(str(delivery.id))
    run_worker()

    assert len(receiver.received) == 1
    assert len(attempts_of(delivery)) == 1


def test_a_corrected_receipt_carries_the_difference_from_the_one_it_supersedes(s001, endpoint, receiver):
    receiver.start()
    visit = make_visit(s001)
    first = issue(visit, CART)
    corrected = issue(visit, [{"sku": "SKU-0001", "quantity": 1}, {"sku": "SKU-0002", "quantity": 1}], supersedes=first)

    run_worker()

    assert [r.error for r in receiver.received] == ["", ""]
    body = next(r.payload for r in receiver.received if r.payload["type"] == "receipt.corrected")
    assert body["data"]["id"] == str(corrected.id)
    assert body["data"]["supersedes"] == str(first.id)
    assert body["data"]["total_minor"] == 300
    assert body["data"]["difference"] == {
        "total_minor": -200,
        "lines": [
            {"sku": "SKU-0001", "name": "S001 product 1", "quantity": -1, "total_minor": -100},
            {"sku": "SKU-0003", "name": "S001 product 3", "quantity": -1, "total_minor": -300},
            {"sku": "SKU-0002", "name": "S001 product 2", "quantity": 1, "total_minor": 200},
        ],
    }
    assert len({r.webhook_id for r in receiver.received}) == 2


def test_receiver_down_then_up_gets_the_receipt_with_the_same_webhook_id(s001, endpoint, receiver, highest_jitter):
    receipt = issue(make_visit(s001), CART)
    delivery = WebhookDelivery.objects.get(event__receipt=receipt)

    run_worker()  # the port is closed
    delivery.refresh_from_db()
    [refused] = attempts_of(delivery)
    assert refused.status_code is None
    assert "Connection" in refused.error or "refused" in refused.error
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert 5 <= (delivery.next_attempt_at - refused.started_at).total_seconds() < 6
    assert queued_runs() == 1
    run_worker()  # the retry is not due yet: nothing happens
    assert len(attempts_of(delivery)) == 1

    receiver.script = [503]
    receiver.start()
    make_due()
    run_worker()
    delivery.refresh_from_db()
    unavailable = attempts_of(delivery)[-1]
    assert (unavailable.status_code, delivery.last_status_code) == (503, 503)
    assert unavailable.error.startswith("HTTP 503")
    assert 10 <= (delivery.next_attempt_at - unavailable.started_at).total_seconds() < 11

    make_due()
    run_worker()

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 3
    assert [a.status_code for a in attempts_of(delivery)] == [None, 503, 200]
    assert all(a.latency_ms >= 0 for a in attempts_of(delivery))
    assert [r.error for r in receiver.received] == ["", ""]
    assert {r.webhook_id for r in receiver.received} == {receipt.webhook_event.webhook_id}
    assert queued_runs() == 0


def test_backoff_doubles_from_five_seconds_up_to_an_hour_with_full_jitter(highest_jitter):
    assert [tasks.retry_delay(n) for n in range(1, 12)] == [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]
    assert tasks.retry_delay(500) == 3600


def test_jittered_backoff_stays_between_one_second_and_its_ceiling():
    for attempt in range(1, 15):
        ceiling = min(3600, 5 * 2 ** (attempt - 1))
        assert all(1 <= tasks.retry_delay(attempt) <= ceiling for _ in range(50))


def test_410_gone_disables_the_endpoint_and_its_deliveries(s001, endpoint, receiver):
    receiver.script = [410]
    receiver.start()
    visit = make_visit(s001)
    receipt = issue(visit, CART)

    run_worker()

    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert "410" in endpoint.disabled_reason
    delivery = WebhookDelivery.objects.get(event__receipt=receipt)
    assert delivery.status == WebhookDelivery.Status.DISABLED
    assert queued_runs() == 0
    later = issue(visit, [{"sku": "SKU-0002", "quantity": 1}], supersedes=receipt)
    assert WebhookEvent.objects.filter(receipt=later).exists()
    assert not WebhookDelivery.objects.filter(event__receipt=later).exists()
    with pytest.raises(Conflict):
        delivery_replay(delivery=delivery)


def test_pending_deliveries_of_an_endpoint_disabled_meanwhile_are_not_sent(s001, endpoint, receiver):
    receiver.start()
    receipt = issue(make_visit(s001), CART)
    WebhookEndpoint.objects.filter(id=endpoint.id).update(is_active=False)

    run_worker()

    assert receiver.received == []
    assert WebhookDelivery.objects.get(event__receipt=receipt).status == WebhookDelivery.Status.DISABLED


def test_after_24_hours_of_failures_the_delivery_fails_and_a_replay_delivers_it(s001, endpoint, receiver):
    receiver.default = 500
    receiver.start()
    receipt = issue(make_visit(s001), CART)
    delivery = WebhookDelivery.objects.get(event__receipt=receipt)
    run_worker()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING

    WebhookEvent.objects.filter(id=delivery.event_id).update(
        created_at=timezone.now() - dt.timedelta(hours=24, seconds=1)
    )
    make_due()
    run_worker()

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.next_attempt_at is None
    assert delivery.last_status_code == 500
    assert queued_runs() == 0

    receiver.default = 200
    assert deliveries_replay_failed() == 1
    run_worker()

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.replayed_at is not None
    assert [a.status_code for a in attempts_of(delivery)] == [500, 500, 200]
    assert [r.error for r in receiver.received] == ["", "", ""]
    assert len({r.webhook_id for r in receiver.received}) == 1


def test_the_last_retry_is_made_at_the_end_of_the_window(s001, endpoint, receiver, highest_jitter):
    receiver.default = 503
    receiver.start()
    receipt = issue(make_visit(s001), CART)
    WebhookEvent.objects.filter(receipt=receipt).update(created_at=timezone.now() - dt.timedelta(hours=23, minutes=59))

    run_worker()

    delivery = WebhookDelivery.objects.select_related("event").get(event__receipt=receipt)
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.next_attempt_at <= delivery.event.created_at + dt.timedelta(hours=24)


def test_a_replay_of_a_pending_delivery_changes_nothing(s001, endpoint, receiver):
    receipt = issue(make_visit(s001), CART)
    delivery = WebhookDelivery.objects.get(event__receipt=receipt)

    assert delivery_replay(delivery=delivery).status == WebhookDelivery.Status.PENDING
    assert queued_runs() == 1


def test_replaying_failed_deliveries_of_one_endpoint_leaves_the_others(s001, endpoint, receiver):
    other, _ = webhook_endpoint_create(url=receiver.url.replace("/billing/", "/other/"), events=["receipt.issued"])
    issue(make_visit(s001), CART)
    WebhookDelivery.objects.update(status=WebhookDelivery.Status.FAILED)

    assert deliveries_replay_failed(endpoint=other) == 1
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == WebhookDelivery.Status.FAILED
    assert WebhookDelivery.objects.get(endpoint=other).status == WebhookDelivery.Status.PENDING


def test_the_deliverys_own_run_takes_its_claim_back_and_any_other_run_finds_it_not_due(s001, endpoint, receiver):
    """A database error cut the delivery's run short after its claim; `manage.py worker` runs
    that same task result again, which may take the claim back at once (instead of waiting
    for the lease and `webhooks_recover`); a duplicate run may not."""
    receiver.start()
    receipt = issue(make_visit(s001), CART)
    delivery = WebhookDelivery.objects.get(event__receipt=receipt)
    claimed = tasks._claim(str(delivery.id), run_id=delivery.task_result_id)  # the cut-short try
    assert isinstance(claimed, WebhookDelivery) and claimed.attempts == 1

    assert tasks._claim(str(delivery.id), run_id="another-run") == "not due"
    again = tasks._claim(str(delivery.id), run_id=delivery.task_result_id)
    assert isinstance(again, WebhookDelivery) and again.attempts == 2

    run_worker()  # the queued run is that same task result: it delivers
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert [r.webhook_id for r in receiver.received] == [receipt.webhook_event.webhook_id]


def test_a_receivers_error_body_is_neither_stored_nor_shown_to_supervisors(s001, endpoint, receiver, carol):
    """Billing's error answer may carry anything (a stack trace, its internals, another
    customer's data); attempts and the deliveries pages keep its status only."""
    secret_body = b"Traceback: db password hunter2 at billing-internal-7; card 4111111111111111"
    receiver.script = [(500, {"Content-Type": "text/plain"}, secret_body), (418, {}, b"teapot internals")]
    receiver.start()
    receipt = issue(make_visit(s001), CART)
    delivery = WebhookDelivery.objects.get(event__receipt=receipt)

    run_worker()
    make_due()
    run_worker()

    delivery.refresh_from_db()
    assert [a.error for a in attempts_of(delivery)] == ["HTTP 500 Internal Server Error", "HTTP 418 I'm a Teapot"]
    assert delivery.last_error == "HTTP 418 I'm a Teapot"
    client = session_client(carol)
    pages = [
        client.get(reverse("validation:deliveries")).content.decode(),
        client.get(reverse("validation:delivery", kwargs={"delivery_id": delivery.pk})).content.decode(),
    ]
    for page in pages:
        assert "hunter2" not in page and "4111" not in page and "internals" not in page
    assert "HTTP 500 Internal Server Error" in pages[1]


def test_error_bodies_stored_before_are_scrubbed_by_the_migration(s001, endpoint):
    scrub = importlib.import_module("validation.migrations.0007_scrub_receiver_error_bodies").scrub
    receipt = issue(make_visit(s001), CART)
    delivery = WebhookDelivery.objects.get(event__receipt=receipt)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(last_status_code=502, last_error="HTTP 502: upstream secret")
    for number, (code, error) in enumerate(
        [(500, "HTTP 500: stack trace"), (599, "HTTP 599: odd"), (None, "timed out after 10000 ms")], start=1
    ):
        DeliveryAttempt.objects.create(
            delivery=delivery, number=number, started_at=timezone.now(), status_code=code, latency_ms=1, error=error
        )

    scrub(apps, None)

    assert [a.error for a in attempts_of(delivery)] == [
        "HTTP 500 Internal Server Error",
        "HTTP 599",
        "timed out after 10000 ms",
    ]
    assert WebhookDelivery.objects.get(pk=delivery.pk).last_error == "HTTP 502 Bad Gateway"
