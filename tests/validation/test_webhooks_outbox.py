"""Transactional outbox: a receipt, its webhook event, its deliveries and their queued task
runs commit together or not at all; and deliveries whose run was lost are recovered."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests.validation.webhook_receiver import Receiver, issue, make_visit, queued_runs, run_worker
from validation import tasks
from validation.models import DeliveryAttempt, Receipt, WebhookDelivery, WebhookEvent
from validation.services import receipt_data
from validation.webhooks import deliveries_recover, webhook_announce, webhook_endpoint_create

CART = [{"sku": "SKU-0002", "quantity": 3}]


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def endpoint(receiver):
    endpoint, receiver.secret = webhook_endpoint_create(url=receiver.url, events=["receipt.issued"])
    return endpoint


@pytest.mark.django_db(transaction=True)
def test_a_receipt_rolled_back_leaves_no_event_and_no_queued_task(s001, endpoint):
    visit = make_visit(s001)

    with pytest.raises(RuntimeError), transaction.atomic():
        issue(visit, CART)
        assert WebhookEvent.objects.count() == 1
        assert queued_runs() == 1
        raise RuntimeError("crash after the receipt, before commit")

    assert not Receipt.objects.exists()
    assert not WebhookEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_committed_receipt_has_its_event_its_delivery_and_a_queued_run(s001, endpoint):
    receipt = issue(make_visit(s001), CART)

    event = WebhookEvent.objects.get(receipt=receipt)
    assert event.type == "receipt.issued"
    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
    assert delivery.status == WebhookDelivery.Status.PENDING
    run = DBTaskResult.objects.get()
    assert str(run.id) == delivery.task_result_id
    assert run.status == TaskResultStatus.READY
    assert run.queue_name == "webhooks"
    assert run.task_path == "validation.tasks.webhook_deliver"
    assert run.args_kwargs == {"args": [str(delivery.id)], "kwargs": {}}


@pytest.mark.django_db
def test_a_receipt_gets_exactly_one_event(s001, endpoint):
    receipt = issue(make_visit(s001), CART)

    with pytest.raises(IntegrityError), transaction.atomic():
        webhook_announce(receipt=receipt, data=receipt_data(receipt))


@pytest.mark.django_db
def test_without_subscribed_endpoints_the_event_is_kept_and_nothing_is_queued(s001, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    webhook_endpoint_create(url="http://127.0.0.1:9/hooks", events=["receipt.corrected"])

    receipt = issue(make_visit(s001), CART)

    assert WebhookEvent.objects.filter(receipt=receipt).exists()
    assert not WebhookDelivery.objects.exists()
    assert queued_runs() == 0


def lose_the_run(delivery: WebhookDelivery) -> None:
    """What a worker killed mid-attempt leaves behind: its task row RUNNING, the delivery
    claimed (attempt counted, lease taken) and no outcome recorded."""
    DBTaskResult.objects.get(id=delivery.task_result_id).claim("killed-worker")
    assert not isinstance(tasks._claim(str(delivery.id)), str)


def lease_over(delivery: WebhookDelivery) -> None:
    """Move the clock past the claim's lease and the recovery grace."""
    WebhookDelivery.objects.filter(id=delivery.id).update(next_attempt_at=timezone.now() - dt.timedelta(minutes=1))


@pytest.mark.django_db
def test_a_delivery_whose_worker_died_is_recovered_once_its_lease_is_over(s001, endpoint, receiver):
    receiver.start()
    receipt = issue(make_visit(s001), CART)
    delivery = WebhookDelivery.objects.get(event__receipt=receipt)
    lose_the_run(delivery)
    lost_run = delivery.task_result_id

    assert deliveries_recover() == 0  # the lease still runs: the worker may be alive
    run_worker()
    assert receiver.received == []

    lease_over(delivery)
    assert deliveries_recover() == 1
    run_worker()

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert [(a.number, a.status_code) for a in DeliveryAttempt.objects.filter(delivery=delivery)] == [
        (1, None),
        (2, 200),
    ]
    assert "worker stopped" in DeliveryAttempt.objects.get(delivery=delivery, number=1).error
    assert DBTaskResult.objects.get(id=lost_run).status == TaskResultStatus.FAILED
    assert [r.webhook_id for r in receiver.received] == [receipt.webhook_event.webhook_id]


@pytest.mark.django_db
def test_recovery_leaves_deliveries_whose_run_is_only_waiting_for_a_worker(s001, endpoint):
    issue(make_visit(s001), CART)

    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - dt.timedelta(hours=1))

    assert deliveries_recover() == 0
    assert queued_runs() == 1


@pytest.mark.django_db
def test_webhooks_recover_command_reenqueues_lost_runs(s001, endpoint):
    delivery = WebhookDelivery.objects.get(event__receipt=issue(make_visit(s001), CART))
    lose_the_run(delivery)
    lease_over(delivery)
    out = StringIO()

    call_command("webhooks_recover", stdout=out)

    assert "Re-enqueued 1 webhook deliveries." in out.getvalue()
    assert queued_runs() == 1
