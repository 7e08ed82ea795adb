"""Admin for billing webhooks: endpoints created through the service (secret shown once),
SSRF-checked URLs, deliveries with their attempts and a replay action."""

import pytest
from django.urls import reverse

from tests.validation.webhook_receiver import issue, make_visit
from validation.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from validation.webhooks import webhook_endpoint_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


def test_an_endpoint_added_in_the_admin_shows_its_secret_once(admin_client):
    response = admin_client.post(
        reverse("admin:validation_webhookendpoint_add"),
        {"url": "http://127.0.0.1:9/hooks", "event_types": ["receipt.issued", "receipt.corrected"]},
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["receipt.issued", "receipt.corrected"]
    assert endpoint.secret in response.content.decode()
    page = admin_client.get(reverse("admin:validation_webhookendpoint_change", args=[endpoint.id]))
    assert page.status_code == 200
    assert endpoint.secret not in page.content.decode()


def test_the_admin_refuses_an_endpoint_on_the_metadata_address(admin_client):
    response = admin_client.post(
        reverse("admin:validation_webhookendpoint_add"),
        {"url": "http://169.254.169.254/latest/meta-data/", "event_types": ["receipt.issued"]},
    )

    assert response.status_code == 200
    assert "metadata" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_failed_delivery_is_replayed_from_the_admin_and_its_attempts_are_listed(admin_client, s001):
    webhook_endpoint_create(url="http://127.0.0.1:9/hooks", events=["receipt.issued"])
    delivery = WebhookDelivery.objects.get(event__receipt=issue(make_visit(s001), [{"sku": "SKU-0001", "quantity": 1}]))
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=1,
        started_at=delivery.created_at,
        status_code=500,
        latency_ms=12,
        error="HTTP 500: boom",
    )
    WebhookDelivery.objects.filter(id=delivery.id).update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)

    page = admin_client.get(reverse("admin:validation_webhookdelivery_change", args=[delivery.id]))
    assert "HTTP 500: boom" in page.content.decode()
    listing = admin_client.get(reverse("admin:validation_webhookdelivery_changelist"), {"status__exact": "failed"})
    assert listing.status_code == 200
    response = admin_client.post(
        reverse("admin:validation_webhookdelivery_changelist"),
        {"action": "replay", "_selected_action": [str(delivery.id)]},
    )

    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.replayed_at is not None
