"""Every registered admin opens for a superuser, and the shopper token stays out of lists."""

import datetime as dt
import uuid

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission, User
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from rest_framework.authtoken.models import Token

from annotator.models import Annotation, MediaView, Snippet
from annotator.services.queues import queue_for, task_enqueue
from catalog.models import Product
from tests.images import image_bytes
from validation.models import (
    CartCorrection,
    DeliveryAttempt,
    Event,
    Receipt,
    ReceiptLine,
    Visit,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

SHOPPER = "anon-7f3a9c-shopper-token"


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root", "root@example.com", "pw-root-loupe")


@pytest.fixture
def admin_client(client, root):
    client.force_login(root)
    return client


@pytest.fixture
def world(s001, alice, carol, s001_integration):
    """One row of every model the admin shows."""
    now = timezone.now()
    Token.objects.create(user=s001_integration)
    camera = s001.cameras.first()
    product = s001.products.first()
    snippet = Snippet.objects.create(
        store=s001,
        camera=camera,
        external_id="clip-1",
        started_at=now,
        file="snippets/clip-1.mp4",
        sha256="0" * 64,
        size_bytes=1000,
        container="mp4",
        codec="h264",
        duration_s=2.0,
        fps=25,
        width=640,
        height=360,
        frame_count=50,
    )
    task = task_enqueue(
        queue=queue_for(store=s001, kind="snippet_annotation"),
        subject_id=snippet.id,
        due_at=now + dt.timedelta(minutes=15),
        payload={"snippet": str(snippet.id)},
        snippets=[snippet],
    )
    slot = task.slots.get()
    Annotation.objects.create(
        task=task,
        slot=slot,
        store_id=task.store_id,
        associate=alice,
        kind=task.kind,
        result={"action": "none"},
        submission_id=uuid.uuid4(),
    )
    MediaView.objects.create(user=alice, snippet=snippet, task=task, what="video")
    visit = Visit.objects.create(
        store=s001,
        external_id="v-1",
        shopper=SHOPPER,
        entered_at=now - dt.timedelta(minutes=9),
        exited_at=now,
        model_version="jwo-test",
        status=Visit.Status.VALIDATED,
        decision=Visit.Decision.REVIEW,
        threshold=0.9,
        min_confidence=0.6,
        body_sha256="1" * 64,
    )
    event = Event.objects.create(
        visit=visit,
        seq=0,
        external_id="e1",
        action="take",
        product=product,
        sku=product.sku,
        confidence=0.6,
        occurred_at=now,
        camera=camera,
        snippet=snippet,
    )
    receipt = Receipt.objects.create(
        visit=visit, kind=Receipt.Kind.ISSUED, total_minor=product.price_minor, currency="EUR", issued_at=now
    )
    ReceiptLine.objects.create(
        receipt=receipt,
        position=0,
        sku=product.sku,
        name=product.name,
        quantity=1,
        price_minor=product.price_minor,
        total_minor=product.price_minor,
    )
    CartCorrection.objects.create(
        visit=visit, sku=product.sku, delta=0, reason="confirmed", event=event, created_by=carol
    )
    DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="validation.tasks.example",
        backend_name="default",
        run_after=now,
        exception_class_path="",
        traceback="",
    )
    endpoint = WebhookEndpoint.objects.create(url="https://billing.example.com/hooks", secret="whsec_dGVzdA==")
    webhook_event = WebhookEvent.objects.create(type=receipt.kind, receipt=receipt, payload={})
    delivery = WebhookDelivery.objects.create(event=webhook_event, endpoint=endpoint)
    DeliveryAttempt.objects.create(delivery=delivery, number=1, started_at=now, status_code=503, latency_ms=5)
    # Sign-in records (django-axes): how an admin sees, and lifts, a lockout.
    seen = {"user_agent": "test", "ip_address": "203.0.113.7", "username": "alice", "http_accept": "*/*"}
    AccessAttempt.objects.create(
        **seen, path_info="/accounts/login/", get_data="", post_data="", failures_since_start=3
    )
    AccessFailureLog.objects.create(**seen, path_info="/accounts/login/")
    AccessLog.objects.create(**seen, path_info="/accounts/login/")
    return visit


def test_every_registered_model_has_a_working_changelist_and_change_page(admin_client, world):
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert changelist.status_code == 200, opts.label

        obj = model._default_manager.first()
        assert obj is not None, f"the test world has no {opts.label}; add one"
        change = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)]))
        assert change.status_code == 200, opts.label

        if model_admin.has_add_permission(change.wsgi_request):
            add = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
            assert add.status_code == 200, opts.label


def test_the_admin_registers_the_loupe_models(db):
    labels = {model._meta.label for model in admin.site._registry}
    assert {
        "catalog.Store",
        "catalog.Camera",
        "catalog.Product",
        "annotator.Queue",
        "annotator.Task",
        "annotator.Snippet",
        "validation.Visit",
        "validation.Receipt",
    } <= labels


def test_visits_and_receipts_cannot_be_changed_in_the_admin(admin_client, world):
    url = reverse("admin:validation_visit_change", args=[world.pk])

    admin_client.post(url, {"status": "disputed"})

    world.refresh_from_db()
    assert world.status == Visit.Status.VALIDATED
    assert admin_client.get(reverse("admin:validation_receipt_add")).status_code == 403


def test_the_shopper_token_is_never_in_the_visit_list_nor_searchable(admin_client, world):
    body = admin_client.get(reverse("admin:validation_visit_changelist")).content.decode()

    assert "v-1" in body
    assert SHOPPER not in body

    # Nor can a search by it tell whether a shopper visited.
    searched = admin_client.get(reverse("admin:validation_visit_changelist"), {"q": SHOPPER})
    assert searched.context["cl"].result_count == 0


def test_the_shopper_token_is_in_a_visits_detail_for_superusers_only(admin_client, client, world):
    url = reverse("admin:validation_visit_change", args=[world.pk])
    assert SHOPPER in admin_client.get(url).content.decode()

    staff = User.objects.create_user("staffer", password="pw-staff-loupe", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_visit"))
    client.force_login(staff)
    response = client.get(url)

    assert response.status_code == 200
    assert "v-1" in response.content.decode()
    assert SHOPPER not in response.content.decode()


def test_uploading_a_product_image_in_the_admin_makes_a_thumbnail(admin_client, s001, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    product = s001.products.first()
    data = {
        "store": s001.pk,
        "sku": product.sku,
        "name": product.name,
        "price_minor": product.price_minor,
        "currency": "EUR",
        "active": "on",
        "image": SimpleUploadedFile("My Photo.png", image_bytes((300, 300)), content_type="image/png"),
    }

    response = admin_client.post(reverse("admin:catalog_product_change", args=[product.pk]), data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.image.name.startswith("products/")
    assert "My" not in product.image.name
    assert product.thumbnail.name.startswith("products/thumbs/")
    assert (tmp_path / product.thumbnail.name).is_file()


def test_adding_a_product_with_an_image_in_the_admin_makes_a_thumbnail(admin_client, s001, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    data = {
        "store": s001.pk,
        "sku": "SKU-NEW",
        "name": "New product",
        "price_minor": 100,
        "currency": "EUR",
        "image": SimpleUploadedFile("new.jpg", image_bytes(fmt="JPEG"), content_type="image/jpeg"),
    }

    assert admin_client.post(reverse("admin:catalog_product_add"), data).status_code == 302

    product = Product.objects.get(store=s001, sku="SKU-NEW")
    assert product.image.name.endswith(".jpg")
    assert product.thumbnail


def test_a_non_image_upload_is_a_form_error_in_the_admin(admin_client, s001, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    product = s001.products.first()
    data = {
        "store": s001.pk,
        "sku": product.sku,
        "name": "Changed",
        "price_minor": product.price_minor,
        "currency": "EUR",
        "image": SimpleUploadedFile("evil.png", b"<script>alert(1)</script>", content_type="image/png"),
    }

    response = admin_client.post(reverse("admin:catalog_product_change", args=[product.pk]), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["image"]
    product.refresh_from_db()
    assert product.name != "Changed"
    assert not product.image
    assert list(tmp_path.rglob("*.*")) == []


def test_creating_a_webhook_in_the_admin_shows_the_secret_once_and_never_in_a_cookie(admin_client, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]

    response = admin_client.post(
        reverse("admin:validation_webhookendpoint_add"),
        {"url": "http://127.0.0.1:9/hooks", "event_types": ["receipt.issued"]},
    )

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret not in cookie_texts(response)
    assert endpoint.secret not in str(dict(admin_client.session.items()))  # messages' fallback
    assert response.status_code == 201
    assert endpoint.secret in response.content.decode()
    assert "no-store" in response.headers["Cache-Control"]
    # Nor is it waiting in a message for the next page.
    after = admin_client.get(reverse("admin:validation_webhookendpoint_changelist"))
    assert endpoint.secret not in after.content.decode()


def cookie_texts(response) -> str:
    """Every cookie the response sets, as sent and, for the messages cookie (signed and
    compressed), decoded."""
    texts = []
    for morsel in response.cookies.values():
        texts.append(morsel.value)
        if morsel.key == CookieStorage.cookie_name:
            texts += [str(m) for m in CookieStorage(HttpRequest())._decode(morsel.value) or []]
    return "\n".join(texts)
