"""The worker process killed (SIGKILL) in the middle of a delivery, then restarted: the
receipt is still delivered, with the same webhook-id (at-least-once, deduplicable)."""

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests.validation.webhook_receiver import HANG, Receiver, issue, make_visit
from validation.models import DeliveryAttempt, WebhookDelivery
from validation.webhooks import webhook_endpoint_create

BASE_DIR = Path(__file__).resolve().parents[2]


def manage(*args: str) -> list[str]:
    return [sys.executable, str(BASE_DIR / "manage.py"), *args]


def worker_env() -> dict[str, str]:
    """The subprocess works on this test's database, with loopback allowed."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    url = f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_NAME"}
    env.update({"DEBUG": "1", "DATABASE_URL": url, "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING"})
    return env


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.mark.postgres_only
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_and_restarted_still_delivers_the_same_webhook_id(s001, receiver):
    receiver.script = [HANG]  # the first request is received, then never answered
    receiver.start()
    _, receiver.secret = webhook_endpoint_create(url=receiver.url, events=["receipt.issued"])
    receipt = issue(make_visit(s001), [{"sku": "SKU-0001", "quantity": 1}])
    delivery = WebhookDelivery.objects.get(event__receipt=receipt)
    worker = subprocess.Popen(
        manage("db_worker", "--queue-name", "webhooks", "--interval", "0.1", "--no-startup-delay", "--no-reload"),
        env=worker_env(),
        cwd=BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert receiver.got_request.wait(60), "the worker never reached the receiver"
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    receiver.release.set()

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempts == 1
    lost_run = DBTaskResult.objects.get(id=delivery.task_result_id)
    assert lost_run.status == TaskResultStatus.RUNNING  # django-tasks-db never reaps it

    # A restarted worker alone does not pick the delivery up again ...
    subprocess.run(
        manage("db_worker", "--batch", "--queue-name", "webhooks"),
        env=worker_env(),
        cwd=BASE_DIR,
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert len(receiver.received) == 1
    # ... webhooks_recover does, once the claim's lease is over (the clock moved in the DB).
    WebhookDelivery.objects.filter(id=delivery.id).update(next_attempt_at=timezone.now() - dt.timedelta(minutes=1))
    recovered = subprocess.run(
        manage("webhooks_recover"),
        env=worker_env(),
        cwd=BASE_DIR,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )
    assert "Re-enqueued 1" in recovered.stdout
    subprocess.run(
        manage("db_worker", "--batch", "--queue-name", "webhooks"),
        env=worker_env(),
        cwd=BASE_DIR,
        check=True,
        timeout=60,
        capture_output=True,
    )

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert [r.error for r in receiver.received] == ["", ""]
    assert [r.webhook_id for r in receiver.received] == [receipt.webhook_event.webhook_id] * 2
    assert [(a.number, a.status_code) for a in DeliveryAttempt.objects.filter(delivery=delivery)] == [
        (1, None),
        (2, 200),
    ]
    lost_run.refresh_from_db()
    assert lost_run.status == TaskResultStatus.FAILED
