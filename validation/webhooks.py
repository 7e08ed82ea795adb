"""Billing webhooks: endpoints, one event per receipt, deliveries, replay and recovery.

Every receipt gets exactly one `WebhookEvent` (its id is the stable `webhook-id`), created in
the receipt's own transaction together with one `WebhookDelivery` per subscribed endpoint and
the django-tasks row that will deliver it: they commit or roll back together (transactional
outbox). Delivery itself is `validation.tasks.webhook_deliver`, at-least-once.
"""

import base64
import datetime as dt
import secrets
from collections.abc import Iterable, Mapping, Sequence

from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from catalog.models import Store
from infra.errors import Conflict, LoupeError
from validation.models import DeliveryAttempt, Receipt, ReceiptLine, WebhookDelivery, WebhookEndpoint, WebhookEvent
from validation.outbound import target_check
from validation.tasks import LEASE, deliveries_schedule, delivery_schedule

EVENT_TYPES = tuple(Receipt.Kind.values)
# A pending delivery this far past its due time (or its lease) with no task waiting for it
# lost its run: the worker died mid-attempt, or the task crashed.
RECOVERY_GRACE = dt.timedelta(seconds=30)


def webhook_secret_generate() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def event_types_check(events: Iterable[str]) -> list[str]:
    types = list(dict.fromkeys(e.strip() for e in events if e.strip()))
    if not types:
        raise LoupeError("Subscribe to at least one event type.", code="invalid", field="events")
    if unknown := [t for t in types if t not in EVENT_TYPES]:
        raise LoupeError(
            f"Unknown event type {unknown[0]!r}; use {', '.join(EVENT_TYPES)}.", code="invalid", field="events"
        )
    return types


def webhook_endpoint_create(*, url: str, events: Iterable[str]) -> tuple[WebhookEndpoint, str]:
    """Create an active endpoint and its signing secret, returned here once for the admin to
    hand to billing. Refuses (`webhook_url_refused`) a URL the SSRF guard would not call."""
    types = event_types_check(events)
    target_check(url)
    secret = webhook_secret_generate()
    endpoint = WebhookEndpoint.objects.create(url=url, secret=secret, event_types=types)
    return endpoint, secret


def webhook_endpoint_set_active(*, endpoint: WebhookEndpoint, active: bool) -> WebhookEndpoint:
    """Enable or disable an endpoint by hand. Enabling clears the disabled reason (a 410's, say);
    its disabled deliveries stay so until replayed. Disabling stops pending deliveries at their
    next attempt (the worker marks them disabled)."""
    if endpoint.is_active == active:
        return endpoint
    endpoint.is_active = active
    if active:
        endpoint.disabled_at, endpoint.disabled_reason = None, ""
    else:
        endpoint.disabled_at = timezone.now()
        endpoint.disabled_reason = "Disabled by an admin."
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
    return endpoint


def _difference(old_lines: Iterable[Mapping], new_lines: Iterable[Mapping]) -> dict:
    """What changed from the superseded receipt: per sku, quantity and money deltas."""
    rows: dict[str, dict] = {}
    for sign, lines in ((-1, old_lines), (1, new_lines)):
        for line in lines:
            row = rows.setdefault(
                line["sku"], {"sku": line["sku"], "name": line["name"], "quantity": 0, "total_minor": 0}
            )
            row["quantity"] += sign * line["quantity"]
            row["total_minor"] += sign * line["total_minor"]
    changed = [row for row in rows.values() if row["quantity"] or row["total_minor"]]
    return {"total_minor": sum(row["total_minor"] for row in rows.values()), "lines": changed}


def _line(line) -> dict:
    return {"sku": line.sku, "name": line.name, "quantity": line.quantity, "total_minor": line.total_minor}


@transaction.atomic
def webhook_announce(*, receipt: Receipt, data: Mapping) -> WebhookEvent:
    """`webhooks_announce` for one receipt, in a savepoint of its own."""
    return webhooks_announce(announcements=[(receipt, data)])[0]


@transaction.atomic(savepoint=False)
def webhooks_announce(*, announcements: Sequence[tuple[Receipt, Mapping]]) -> list[WebhookEvent]:
    """Create each new receipt's one webhook event (`(receipt, data)`, `data` the receipt as
    the API renders it; a correction's also says what changed from the receipt it supersedes)
    and a delivery per active subscribed endpoint, each with its task enqueued: one INSERT of
    events, one of deliveries, one of their task runs, whatever the count.

    Joins the caller's transaction without a savepoint (the receipts' own), so they commit
    together: if this raises, the caller must roll back. Locks nothing; the one-to-one
    `receipt` is the backstop against a second event.
    """
    if not announcements:
        return []
    now = timezone.now()
    superseded: dict = {receipt.supersedes_id: [] for receipt, _ in announcements if receipt.supersedes_id}
    if superseded:
        for line in ReceiptLine.objects.filter(receipt_id__in=superseded).order_by("receipt", "position"):
            superseded[line.receipt_id].append(_line(line))
    events = []
    for receipt, data in announcements:
        data = dict(data)
        if receipt.supersedes_id:
            data["difference"] = _difference(superseded[receipt.supersedes_id], data["lines"])
        events.append(
            WebhookEvent(
                type=receipt.kind,
                receipt=receipt,
                payload={"type": receipt.kind, "timestamp": now.isoformat(), "data": data},
                created_at=now,
            )
        )
    WebhookEvent.objects.bulk_create(events)
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
    deliveries = [
        WebhookDelivery(event=event, endpoint=endpoint, created_at=now)
        for event in events
        for endpoint in endpoints
        if event.type in endpoint.event_types
    ]
    if deliveries:
        deliveries_schedule(deliveries=deliveries, at=now)
    return events


@transaction.atomic
def delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again from scratch (a fresh 24-hour retry window), whatever its end
    state: failed, disabled (once the endpoint is active again) or even delivered. A pending
    delivery is already on its way and is left alone. Locks the delivery row."""
    delivery = WebhookDelivery.objects.select_for_update(of=("self",)).select_related("endpoint").get(id=delivery.id)
    if delivery.status == WebhookDelivery.Status.PENDING:
        return delivery
    if not delivery.endpoint.is_active:
        raise Conflict("The endpoint is disabled; enable it before replaying.", code="webhook_endpoint_disabled")
    now = timezone.now()
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.replayed_at = now
    delivery.save(update_fields=["status", "replayed_at"])
    delivery_schedule(delivery=delivery, at=now)
    return delivery


def deliveries_replay_failed(*, endpoint: WebhookEndpoint | None = None, stores: Iterable[Store] | None = None) -> int:
    """Replay every failed delivery (of `endpoint`, or of all active endpoints; of receipts of
    `stores` only, when given). Returns how many."""
    failed = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.FAILED, endpoint__is_active=True)
    if endpoint is not None:
        failed = failed.filter(endpoint=endpoint)
    if stores is not None:
        failed = failed.filter(event__receipt__visit__store__in=stores)
    count = 0
    for delivery in failed.only("id").iterator():
        if delivery_replay(delivery=delivery).status == WebhookDelivery.Status.PENDING:
            count += 1
    return count


def deliveries_recover(*, limit: int = 1000) -> int:
    """Re-enqueue pending deliveries whose run was lost. Returns how many.

    django-tasks-db has no reaper: a worker killed mid-task leaves its row RUNNING for ever
    and nothing runs it again. Here a pending delivery past its due time (an in-flight one:
    past its lease) by `RECOVERY_GRACE` whose task row is not READY lost its run. That row is
    marked FAILED (if still RUNNING), the attempt that never reported back is logged, and a
    new run is enqueued. The receiver may then see the same `webhook-id` twice: that is the
    at-least-once promise. Run periodically: `manage.py webhooks_recover --every 60`.
    """
    now = timezone.now()
    stale = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, next_attempt_at__lt=now - RECOVERY_GRACE
    ).order_by("next_attempt_at")
    recovered = 0
    for delivery_id in list(stale.values_list("id", flat=True)[:limit]):
        with transaction.atomic():
            delivery = (
                WebhookDelivery.objects.select_for_update(skip_locked=True)
                .filter(id=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lt=now - RECOVERY_GRACE)
                .first()
            )
            if delivery is None:
                continue
            run = DBTaskResult.objects.filter(id=delivery.task_result_id).first() if delivery.task_result_id else None
            if run is not None and run.status == TaskResultStatus.READY:
                continue  # waiting for a free worker, not lost
            if run is not None and run.status == TaskResultStatus.RUNNING:
                DBTaskResult.objects.filter(id=run.id, status=TaskResultStatus.RUNNING).update(
                    status=TaskResultStatus.FAILED,
                    finished_at=now,
                    exception_class_path="validation.webhooks.WorkerLost",
                    traceback=f"The worker stopped during this run; webhooks_recover re-enqueued it at {now:%c}.",
                )
            number = delivery.attempts
            if number and not DeliveryAttempt.objects.filter(delivery=delivery, number=number).exists():
                lease_start = delivery.next_attempt_at - LEASE
                DeliveryAttempt.objects.create(
                    delivery=delivery,
                    number=number,
                    started_at=lease_start,
                    status_code=None,
                    latency_ms=0,
                    error="no outcome recorded: the worker stopped during the attempt",
                )
            delivery_schedule(delivery=delivery, at=now)
            recovered += 1
    return recovered
