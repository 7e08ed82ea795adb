"""Background tasks of the validation app: billing webhook deliveries (queue "webhooks").

One run of `webhook_deliver` makes at most one HTTP attempt of one delivery:

1. claim: under the delivery's row lock, check it is still pending and due, count the
   attempt and push `next_attempt_at` one lease ahead, so a duplicate run of the task (a
   replay racing a retry, a recovered run) finds it not due and does nothing;
2. sign and POST, outside any transaction (at most `outbound.TOTAL_TIMEOUT_S`);
3. record: log the attempt and, only if this run still holds the claim, settle the delivery:
   2xx delivered, 410 endpoint disabled, anything else a new run of the task enqueued with
   `run_after` (exponential backoff, full jitter), or failed once the retry window is over.

A database error between 1 and 3 makes `manage.py worker` run the same task result again
once reconnected; that run takes the claim back (it is the delivery's `task_result_id`).
A worker killed between 1 and 3 leaves the delivery pending with an expired lease and its
django-tasks row RUNNING for ever (django-tasks-db has no reaper); `webhooks.deliveries_recover`
(`manage.py webhooks_recover`) finds such deliveries and enqueues them again.
"""

import datetime as dt
import logging
import random
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django_tasks import TaskContext, task
from django_tasks.base import Task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.compat import normalize_json, task_enqueued
from django_tasks_db.models import DBTaskResult, get_date_max
from standardwebhooks.webhooks import Webhook

from validation import outbound
from validation.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# Longer than the whole HTTP exchange can take, so only a dead or hung worker outlives it.
LEASE = dt.timedelta(seconds=60)
RETRY_WINDOW = dt.timedelta(hours=24)
BACKOFF_FIRST_S = 5.0
BACKOFF_MAX_S = 3600.0
USER_AGENT = "Loupe-Webhooks/1"


def retry_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): full jitter under a
    ceiling of 5 s, 10 s, 20 s … capped at an hour; at least one second."""
    ceiling = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** min(attempt - 1, 30))
    return max(1.0, random.uniform(0, ceiling))


def retry_deadline(delivery: WebhookDelivery) -> dt.datetime:
    return (delivery.replayed_at or delivery.event.created_at) + RETRY_WINDOW


def delivery_schedule(*, delivery: WebhookDelivery, at: dt.datetime) -> None:
    """`deliveries_schedule` for one delivery."""
    deliveries_schedule(deliveries=[delivery], at=at)


def deliveries_schedule(*, deliveries: Sequence[WebhookDelivery], at: dt.datetime) -> None:
    """Make `deliveries` due at `at` and enqueue, for each, the run that will attempt it. New
    deliveries are INSERTed (in one statement), existing ones updated.

    Call inside the transaction that creates or changes the deliveries: with the database
    task backend the task rows commit or roll back with them (transactional outbox). Any
    other backend is only told after commit, so nothing is sent for data that might still
    roll back.
    """
    run = webhook_deliver.using(run_after=at) if at > timezone.now() else webhook_deliver
    delivery_ids = [str(delivery.id) for delivery in deliveries]
    if isinstance(run.get_backend(), DatabaseBackend):
        run_ids = _enqueue_in_transaction(run, delivery_ids)
    else:
        run_ids = [""] * len(deliveries)
        for delivery_id in delivery_ids:
            transaction.on_commit(lambda delivery_id=delivery_id: run.enqueue(delivery_id))
    for delivery, run_id in zip(deliveries, run_ids, strict=True):
        delivery.next_attempt_at, delivery.task_result_id = at, run_id
    existing = [delivery for delivery in deliveries if not delivery._state.adding]
    if new := [delivery for delivery in deliveries if delivery._state.adding]:
        WebhookDelivery.objects.bulk_create(new)
    for delivery in existing:
        delivery.save(update_fields=["next_attempt_at", "task_result_id"])


def _enqueue_in_transaction(run: Task, delivery_ids: list[str]) -> list[str]:
    """Enqueue `run` once per delivery id with the database backend, in one INSERT, inside
    the caller's transaction; returns the task result ids.

    This is `DatabaseBackend.enqueue` for many rows. django-tasks has no public bulk enqueue,
    and one `enqueue` per delivery would cost a statement each in a bulk ingest; so this is
    the one place that uses django-tasks-db internals (`_get_id`, `normalize_json`,
    `get_date_max`, the `task_enqueued` signal), as of django-tasks-db 0.13: re-check it on
    an upgrade (tests/validation/test_webhooks_outbox.py runs deliveries it enqueued).
    """
    backend = run.get_backend()
    backend.validate_task(run)
    rows = [
        DBTaskResult(
            id=backend._get_id(),
            args_kwargs=normalize_json({"args": [delivery_id], "kwargs": {}}),
            priority=run.priority,
            task_path=run.module_path,
            queue_name=run.queue_name,
            # bulk_create skips the model's pre_save handler that fills this in
            run_after=run.run_after or get_date_max(),
            backend_name=backend.alias,
        )
        for delivery_id in delivery_ids
    ]
    DBTaskResult.objects.bulk_create(rows)
    for row in rows:
        task_enqueued.send(type(backend), task_result=row.task_result)
    return [str(row.id) for row in rows]


def signed_headers(*, secret: str, webhook_id: str, body: str, at: dt.datetime) -> dict[str, str]:
    # The timestamp is the attempt's, not the event's: receivers refuse signatures older than
    # a few minutes, and a retry may come hours later.
    at = at.replace(microsecond=0)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _claim(delivery_id: str, run_id: str = "") -> WebhookDelivery | str:
    """Step 1. `run_id` is this run's task result: the delivery's own run takes its claim
    back when a database error cut its previous try short (`manage.py worker` runs it again),
    where any other run finds the delivery not due."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("event", "endpoint")
            .filter(id=delivery_id)
            .first()
        )
        if delivery is None:
            return "missing"
        if delivery.status != WebhookDelivery.Status.PENDING:
            return f"already {delivery.status}"
        own_run = bool(run_id) and delivery.task_result_id == run_id
        if delivery.next_attempt_at and delivery.next_attempt_at > now + dt.timedelta(seconds=1) and not own_run:
            return "not due"
        if not delivery.endpoint.is_active:
            delivery.status = WebhookDelivery.Status.DISABLED
            delivery.next_attempt_at = None
            delivery.save(update_fields=["status", "next_attempt_at"])
            return "endpoint disabled"
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    return delivery


def _record(delivery: WebhookDelivery, *, number: int, started_at: dt.datetime, response: outbound.Response) -> str:
    now = timezone.now()
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=started_at,
            status_code=response.status_code,
            latency_ms=response.latency_ms,
            error=response.error[:2000],
        )
        current = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("event")
            .filter(id=delivery.id, status=WebhookDelivery.Status.PENDING, attempts=number)
            .first()
        )
        if current is None:
            return "claim lost"  # the lease ran out and a recovered run owns the delivery now
        current.last_status_code = response.status_code
        current.last_error = response.error[:2000]
        fields = ["status", "last_status_code", "last_error", "next_attempt_at", "delivered_at"]
        if response.ok:
            current.status = WebhookDelivery.Status.DELIVERED
            current.delivered_at = now
            current.next_attempt_at = None
            outcome = "delivered"
        elif response.status_code == 410:
            current.status = WebhookDelivery.Status.DISABLED
            current.next_attempt_at = None
            WebhookEndpoint.objects.filter(id=current.endpoint_id, is_active=True).update(
                is_active=False,
                disabled_at=now,
                disabled_reason=f"The receiver answered 410 Gone ({now:%Y-%m-%d %H:%M} UTC).",
            )
            outcome = "endpoint gone"
        elif now >= (deadline := retry_deadline(current)):
            current.status = WebhookDelivery.Status.FAILED
            current.next_attempt_at = None
            outcome = "failed"
        else:
            current.save(update_fields=["last_status_code", "last_error"])
            delay = dt.timedelta(seconds=retry_delay(number))
            delivery_schedule(delivery=current, at=min(now + delay, deadline))
            return "retry scheduled"
        current.save(update_fields=fields)
    return outcome


@task(queue_name="webhooks", takes_context=True)
def webhook_deliver(context: TaskContext, delivery_id: str) -> str:
    """Make one attempt of a webhook delivery (see the module docstring). Returns the outcome."""
    claim = _claim(delivery_id, run_id=str(context.task_result.id))
    if isinstance(claim, str):
        return claim
    delivery = claim
    event = delivery.event
    body = event.body()
    started_at = timezone.now()
    headers = signed_headers(secret=delivery.endpoint.secret, webhook_id=event.webhook_id, body=body, at=started_at)
    response = outbound.post(delivery.endpoint.url, body=body.encode(), headers=headers)
    outcome = _record(delivery, number=delivery.attempts, started_at=started_at, response=response)
    logger.info(
        "webhook %s to %s attempt %d: %s (%s, %d ms)",
        event.webhook_id,
        delivery.endpoint.url,
        delivery.attempts,
        outcome,
        response.status_code or response.error,
        response.latency_ms,
    )
    return outcome
