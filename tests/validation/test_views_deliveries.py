"""The supervisor's deliveries pages and the superuser's webhook endpoints page: filters,
pagination, store scoping, replay, and endpoints whose secret is shown once."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests.validation.webhook_receiver import make_visit
from validation.models import DeliveryAttempt, Receipt, WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db

FAILED = WebhookDelivery.Status.FAILED


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def endpoint():
    return WebhookEndpoint.objects.create(
        url="http://127.0.0.1:9/hooks", secret="whsec_test", event_types=["receipt.issued", "receipt.corrected"]
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_delivery(store, endpoint, *, n: int = 0, status=FAILED, kind=Receipt.Kind.ISSUED, created_at=None):
    """A delivery of a receipt of `store`, made directly (no task queued)."""
    visit = make_visit(store, external_id=f"{store.code}-v-{n}")
    receipt = Receipt.objects.create(visit=visit, kind=kind, total_minor=100, currency="EUR", issued_at=timezone.now())
    event = WebhookEvent.objects.create(type=kind, receipt=receipt, payload={"data": {}})
    return WebhookDelivery.objects.create(
        event=event,
        endpoint=endpoint,
        status=status,
        attempts=1,
        last_status_code=500,
        last_error=f"HTTP 500: boom {store.code}-{n}",
        created_at=created_at or timezone.now(),
    )


def listed(response) -> list[str]:
    return [str(d.pk) for d in response.context["page"].object_list]


# Access and scoping


def test_associates_are_refused_the_deliveries_pages(alice, s001, endpoint):
    delivery = make_delivery(s001, endpoint)
    client = client_for(alice)

    assert client.get(reverse("validation:deliveries")).status_code == 403
    assert client.get(reverse("validation:delivery", kwargs={"delivery_id": delivery.pk})).status_code == 403
    assert client.post(reverse("validation:deliveries_replay_failed")).status_code == 403


def test_a_supervisor_sees_only_deliveries_of_their_stores(carol, sam, s001, s002, endpoint):
    mine = make_delivery(s001, endpoint, n=1)
    theirs = make_delivery(s002, endpoint, n=2)

    response = client_for(carol).get(reverse("validation:deliveries"))

    assert response.status_code == 200
    assert listed(response) == [str(mine.pk)]
    assert str(theirs.pk) not in response.content.decode()


def test_another_stores_delivery_is_404_and_cannot_be_replayed(sam, s001, endpoint):
    delivery = make_delivery(s001, endpoint)
    client = client_for(sam)

    assert client.get(reverse("validation:delivery", kwargs={"delivery_id": delivery.pk})).status_code == 404
    response = client.post(reverse("validation:delivery_replay", kwargs={"delivery_id": delivery.pk}))

    assert response.status_code == 404
    delivery.refresh_from_db()
    assert delivery.status == FAILED
    assert delivery.replayed_at is None
    assert not DBTaskResult.objects.exists()


def test_replay_all_failed_leaves_other_stores_alone(sam, s001, endpoint):
    delivery = make_delivery(s001, endpoint)

    response = client_for(sam).post(reverse("validation:deliveries_replay_failed"))

    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == FAILED
    assert not DBTaskResult.objects.exists()


# Listing, filters, pagination


def test_the_list_shows_attempts_last_code_and_error_newest_first(carol, s001, endpoint):
    now = timezone.now()
    old = make_delivery(s001, endpoint, n=1, created_at=now - dt.timedelta(hours=2))
    new = make_delivery(s001, endpoint, n=2, created_at=now)
    for number in (1, 2):
        DeliveryAttempt.objects.create(delivery=new, number=number, started_at=now, status_code=500, latency_ms=7)

    response = client_for(carol).get(reverse("validation:deliveries"))

    assert listed(response) == [str(new.pk), str(old.pk)]
    assert response.context["page"].object_list[0].attempt_count == 2
    page = response.content.decode()
    assert "HTTP 500: boom S001-2" in page
    assert reverse("validation:delivery", kwargs={"delivery_id": new.pk}) in page


def test_filters_narrow_by_status_endpoint_type_and_date(carol, s001, endpoint):
    other = WebhookEndpoint.objects.create(
        url="http://127.0.0.1:10/other", secret="whsec_o", event_types=["receipt.issued"]
    )
    now = timezone.now()
    failed = make_delivery(s001, endpoint, n=1)
    delivered = make_delivery(s001, endpoint, n=2, status=WebhookDelivery.Status.DELIVERED)
    elsewhere = make_delivery(s001, other, n=3)
    corrected = make_delivery(s001, endpoint, n=4, kind=Receipt.Kind.CORRECTED)
    last_week = make_delivery(s001, endpoint, n=5, created_at=now - dt.timedelta(days=7))
    client = client_for(carol)
    url = reverse("validation:deliveries")

    assert str(delivered.pk) not in listed(client.get(url, {"status": "failed"}))
    assert listed(client.get(url, {"status": "delivered"})) == [str(delivered.pk)]
    assert listed(client.get(url, {"endpoint": str(other.pk)})) == [str(elsewhere.pk)]
    assert listed(client.get(url, {"type": "receipt.corrected"})) == [str(corrected.pk)]
    week_ago = timezone.localdate(now - dt.timedelta(days=7)).isoformat()
    assert listed(client.get(url, {"since": week_ago, "until": week_ago})) == [str(last_week.pk)]
    today = timezone.localdate().isoformat()
    assert str(last_week.pk) not in listed(client.get(url, {"since": today}))
    assert str(failed.pk) in listed(client.get(url, {"since": today, "status": "failed"}))


@pytest.mark.parametrize(
    "query",
    [
        {"status": "exploded"},
        {"endpoint": "not-a-uuid"},
        {"endpoint": "00000000-0000-0000-0000-000000000000"},
        {"type": "receipt.lost"},
        {"since": "yesterday"},
        {"since": "2026-05-02", "until": "2026-05-01"},
        {"page": "many"},
    ],
)
def test_bad_filters_answer_a_clear_message_not_a_500(carol, s001, endpoint, query):
    make_delivery(s001, endpoint)

    response = client_for(carol).get(reverse("validation:deliveries"), query)

    if "page" in query:  # a bad page number falls back to the first page
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert 'id="filter-errors"' in response.content.decode()
    assert listed(response) == []


def test_deliveries_are_paginated_fifty_a_page_keeping_the_filters(carol, s001, endpoint):
    now = timezone.now()
    made = [make_delivery(s001, endpoint, n=n, created_at=now - dt.timedelta(seconds=n)) for n in range(55)]
    client = client_for(carol)

    first = client.get(reverse("validation:deliveries"), {"status": "failed"})
    second = client.get(reverse("validation:deliveries"), {"status": "failed", "page": 2})

    assert listed(first) == [str(d.pk) for d in made[:50]]
    assert listed(second) == [str(d.pk) for d in made[50:]]
    assert "?status=failed&amp;page=2" in first.content.decode()


def test_the_detail_lists_the_attempts(carol, s001, endpoint):
    delivery = make_delivery(s001, endpoint)
    DeliveryAttempt.objects.create(
        delivery=delivery, number=1, started_at=timezone.now(), status_code=503, latency_ms=321, error="HTTP 503: later"
    )

    response = client_for(carol).get(reverse("validation:delivery", kwargs={"delivery_id": delivery.pk}))

    page = response.content.decode()
    assert response.status_code == 200
    assert "HTTP 503: later" in page
    assert "321 ms" in page
    assert 'id="replay"' in page


# Replay


def assert_pending_with_a_queued_task(delivery: WebhookDelivery) -> None:
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.replayed_at is not None
    run = DBTaskResult.objects.get(id=delivery.task_result_id)
    assert run.status == TaskResultStatus.READY


def test_a_supervisor_replays_one_failed_delivery(carol, s001, endpoint):
    delivery = make_delivery(s001, endpoint)

    response = client_for(carol).post(reverse("validation:delivery_replay", kwargs={"delivery_id": delivery.pk}))

    assert response.status_code == 302
    assert_pending_with_a_queued_task(delivery)


def test_replaying_on_a_disabled_endpoint_says_why_and_changes_nothing(carol, s001, endpoint):
    delivery = make_delivery(s001, endpoint, status=WebhookDelivery.Status.DISABLED)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)

    response = client_for(carol).post(
        reverse("validation:delivery_replay", kwargs={"delivery_id": delivery.pk}), follow=True
    )

    assert "enable it before replaying" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DISABLED
    assert not DBTaskResult.objects.exists()


def test_replay_all_failed_replays_the_supervisors_stores_only(carol, s001, s002, endpoint):
    mine = [make_delivery(s001, endpoint, n=n) for n in range(3)]
    delivered = make_delivery(s001, endpoint, n=9, status=WebhookDelivery.Status.DELIVERED)
    theirs = make_delivery(s002, endpoint, n=1)

    response = client_for(carol).post(reverse("validation:deliveries_replay_failed"), follow=True)

    assert "Replayed 3 failed deliveries." in response.content.decode()
    for delivery in mine:
        assert_pending_with_a_queued_task(delivery)
    delivered.refresh_from_db()
    theirs.refresh_from_db()
    assert delivered.status == WebhookDelivery.Status.DELIVERED
    assert theirs.status == FAILED


def test_replay_needs_a_post(carol, s001, endpoint):
    delivery = make_delivery(s001, endpoint)

    response = client_for(carol).get(reverse("validation:delivery_replay", kwargs={"delivery_id": delivery.pk}))

    assert response.status_code == 405


# Endpoint management (superusers)


def test_endpoint_pages_are_for_superusers_only(carol, alice, endpoint):
    for user in (carol, alice):
        client = client_for(user)
        assert client.get(reverse("validation:webhooks")).status_code == 403
        response = client.post(
            reverse("validation:webhook_create"), {"url": "http://127.0.0.1:9/x", "events": ["receipt.issued"]}
        )
        assert response.status_code == 403
        toggle = reverse("validation:webhook_toggle", kwargs={"endpoint_id": endpoint.pk})
        assert client.post(toggle, {"active": "0"}).status_code == 403
    assert WebhookEndpoint.objects.count() == 1
    assert WebhookEndpoint.objects.get().is_active


def test_a_superuser_creates_an_endpoint_and_sees_its_secret_once(admin_client):
    response = admin_client.post(
        reverse("validation:webhook_create"),
        {"url": "http://127.0.0.1:9/hooks", "events": ["receipt.issued", "receipt.corrected"]},
    )

    assert response.status_code == 201
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    assert endpoint.event_types == ["receipt.issued", "receipt.corrected"]
    listing = admin_client.get(reverse("validation:webhooks"))
    assert listing.status_code == 200
    assert endpoint.url in listing.content.decode()
    assert endpoint.secret not in listing.content.decode()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("ftp://127.0.0.1/hooks", "Only http and https"),
        ("not a url", "Enter a valid URL"),
    ],
)
def test_a_refused_url_is_a_form_error_and_nothing_is_created(admin_client, url, message):
    response = admin_client.post(reverse("validation:webhook_create"), {"url": url, "events": ["receipt.issued"]})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_needs_an_event_type(admin_client):
    response = admin_client.post(reverse("validation:webhook_create"), {"url": "http://127.0.0.1:9/hooks"})

    assert response.status_code == 400
    assert not WebhookEndpoint.objects.exists()


def test_a_superuser_disables_and_enables_an_endpoint(admin_client, endpoint):
    toggle = reverse("validation:webhook_toggle", kwargs={"endpoint_id": endpoint.pk})

    assert admin_client.post(toggle, {"active": "0"}).status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_at is not None
    assert "Disabled by an admin." in admin_client.get(reverse("validation:webhooks")).content.decode()

    admin_client.post(toggle, {"active": "1"})
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert endpoint.disabled_reason == ""


def test_the_nav_links_deliveries_for_supervisors_and_webhooks_for_superusers(carol, alice, admin_client):
    supervisor_page = client_for(carol).get(reverse("home")).content.decode()
    associate_page = client_for(alice).get(reverse("annotator:work")).content.decode()
    admin_page = admin_client.get(reverse("home")).content.decode()

    assert reverse("validation:deliveries") in supervisor_page
    assert reverse("validation:webhooks") not in supervisor_page
    assert reverse("validation:deliveries") not in associate_page
    assert reverse("validation:webhooks") in admin_page
