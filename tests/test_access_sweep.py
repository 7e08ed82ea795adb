"""The access sweep: every URL pattern × method × role against store S001's objects.

Every URL pattern of `config.urls` must be classified here, or the sweep fails:

- `URL_KWARGS`: patterns that name or act on store objects. Their kwargs (and, for writes,
  a plausible body in `BODIES`) point at S001's objects. Every role that is not listed in
  `REACHES_S001` for that pattern must get 401/403/404/405 (or a redirect to a login page
  for HTML pages), must not change the database and must not see S001's data.
- `NOT_OBJECT_SCOPED`: pages and endpoints that act only on the caller's own things (their
  home, their queues, "give me the next task"). Roles outside S001 may reach them, but they
  must not write anything and their answers must not contain S001's data.
- `PUBLIC`: no login needed and no store data (health checks, the login page, the schema).

Every other view wears one gate of `catalog.gates` (`UNGATED` lists the exceptions), and each
gate answers one way: a page sends anonymous callers to the login page and answers 403 to a
signed-in caller without its role; an API view answers 401 and 403.

Nothing may answer 500. Each request runs in a savepoint that is rolled back, so requests do
not see each other's effects; a request counts as having changed the database when it issued
an INSERT/UPDATE/DELETE on anything but the session table, or when the row counts of Loupe's
models or the checksum of their key columns moved.
"""

import copy
import dataclasses
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.views import APIView

from annotator.models import (
    Annotation,
    Dataset,
    MediaView,
    Queue,
    QueueMembership,
    Rejection,
    Slot,
    Snippet,
    Task,
    TaskExclusion,
)
from annotator.services.queues import task_enqueue
from catalog.gates import Gate, RolePermission, holds_any
from catalog.models import Camera, Product, Store
from validation.models import (
    CartCorrection,
    Event,
    Receipt,
    ReceiptLine,
    Visit,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ROLES = ("anonymous", "alice", "bob", "sam", "s002_integration")
# Roles that belong to S001 may see its data; the others never may.
OUTSIDERS = ("anonymous", "bob", "sam", "s002_integration")
DENIED = {401, 403, 404, 405}
SESSION_TABLES = {"django_session"}


@dataclasses.dataclass
class World:
    s001: Store
    s002: Store
    validation_queue: Queue
    snippet_queue: Queue
    s002_queue: Queue
    snippet: Snippet
    visit: Visit
    event: Event
    receipt: Receipt
    task: Task  # visit validation, slot 0 leased live by alice
    snippet_task: Task  # snippet annotation, free
    done_task: Task  # annotated by alice
    annotation: Annotation
    users: dict[str, User | None]

    def secrets(self) -> list[str]:
        """Strings that must never appear in an answer to someone outside S001."""
        values = [
            self.snippet.pk,
            self.visit.pk,
            self.event.pk,
            self.receipt.pk,
            self.task.pk,
            self.snippet_task.pk,
            self.done_task.pk,
            self.annotation.pk,
            self.validation_queue.pk,
            self.snippet_queue.pk,
        ]
        return [str(v) for v in values] + [self.visit.external_id, self.visit.shopper, self.s001.name]


# ----------------------------------------------------------------------------------------
# The registry. Every URL pattern of config.urls appears in exactly one of these.
# ----------------------------------------------------------------------------------------


def s001_dataset(w: World) -> dict[str, Any]:
    return {"dataset_id": Dataset.objects.get(stores=w.s001, name="s001-secret-dataset").pk}


# Object-scoped patterns: url name -> kwargs pointing at S001's objects. Patterns without
# kwargs are here when their body or query names an S001 object (a store, a queue).
URL_KWARGS: dict[str, Callable[[World], dict[str, Any]]] = {
    "annotator:dataset_new": lambda w: {},
    "annotator:dataset_count": lambda w: {},
    "annotator:dataset_row": s001_dataset,
    "annotator:dataset_retry": s001_dataset,
    "api-dataset-create": lambda w: {},
    "api-dataset-detail": s001_dataset,
    "api-dataset-download": s001_dataset,
    "api-dataset-retry": s001_dataset,
    "annotator:claim_queue": lambda w: {"queue_id": w.validation_queue.pk},
    "annotator:task": lambda w: {"task_id": w.task.pk},
    "annotator:submit": lambda w: {"task_id": w.task.pk},
    "annotator:heartbeat": lambda w: {"task_id": w.task.pk},
    "annotator:release": lambda w: {"task_id": w.task.pk},
    "annotator:task_preview": lambda w: {"task_id": w.task.pk},
    "annotator:product_search": lambda w: {},
    "catalog:product_image": lambda w: {"product_id": Product.objects.get(store=w.s001, sku="SKU-0001").pk},
    "annotator:snippet_video": lambda w: {"snippet_id": w.snippet.pk},
    "annotator:snippet_poster": lambda w: {"snippet_id": w.snippet.pk},
    "annotator:snippet_thumbnail": lambda w: {"snippet_id": w.snippet.pk},
    "api-task-next": lambda w: {},
    "api-task-lookahead": lambda w: {},
    "api-task-heartbeat": lambda w: {"task_id": w.task.pk},
    "api-task-submit": lambda w: {"task_id": w.task.pk},
    "api-task-release": lambda w: {"task_id": w.task.pk},
    "api-snippet-create": lambda w: {},
    "api-snippet-detail": lambda w: {"snippet_id": w.snippet.pk},
    "api-visit-ingest": lambda w: {},
    "api-visit-bulk": lambda w: {},
    "api-visit-detail": lambda w: {"visit_id": w.visit.pk},
    "api-receipt-detail": lambda w: {"receipt_id": w.receipt.pk},
    "annotator:supervise_queue": lambda w: {"queue_id": w.validation_queue.pk},
    "annotator:queue_pause": lambda w: {"queue_id": w.validation_queue.pk},
    "annotator:queue_member": lambda w: {"queue_id": w.validation_queue.pk},
    "annotator:task_priority": lambda w: {"task_id": w.task.pk},
    "annotator:task_reassign": lambda w: {"task_id": w.task.pk},
    "annotator:lease_release": lambda w: {"slot_id": w.task.slots.get(index=0).pk},
    "annotator:associate_store": lambda w: {"username": "alice"},
    "annotator:annotation": lambda w: {"annotation_id": w.annotation.pk},
    "annotator:annotation_reject": lambda w: {"annotation_id": w.annotation.pk},
    "api-annotation-reject": lambda w: {"annotation_id": w.annotation.pk},
    "annotator:rejection_read": lambda w: {"rejection_id": Rejection.objects.get(annotation=w.annotation).pk},
    "validation:calibration": lambda w: {},
    "validation:calibration_apply": lambda w: {"code": "S001"},
    "validation:store_policy": lambda w: {"code": "S001"},
    "api-visit-dispute": lambda w: {"visit_id": w.visit.pk},
    "validation:dispute_open": lambda w: {"visit_id": w.visit.pk},
    "api-label-list": lambda w: {},
    "validation:delivery": lambda w: {"delivery_id": WebhookDelivery.objects.get(event__receipt=w.receipt).pk},
    "validation:delivery_replay": lambda w: {"delivery_id": WebhookDelivery.objects.get(event__receipt=w.receipt).pk},
    "validation:webhooks": lambda w: {},  # superusers only: every swept role is refused
    "validation:webhook_create": lambda w: {},
    "validation:webhook_toggle": lambda w: {"endpoint_id": WebhookEndpoint.objects.get().pk},
    "api-shopper-erase": lambda w: {},
    "api-media-views": lambda w: {},
    "api-store-policy": lambda w: {"code": "S001"},
}


def visit_body(w: World) -> dict[str, Any]:
    now = timezone.now()
    return {
        "external_id": "sweep-visit",
        "store": "S001",
        "shopper": "anon-sweep",
        "entered_at": (now - timedelta(minutes=9)).isoformat(),
        "exited_at": (now - timedelta(minutes=1)).isoformat(),
        "model_version": "sweep",
        "events": [
            {
                "external_id": "e1",
                "action": "take",
                "sku": "SKU-0001",
                "confidence": 0.5,
                "occurred_at": (now - timedelta(minutes=5)).isoformat(),
                "camera": "C01",
                "snippet": w.snippet.external_id,
            }
        ],
    }


# Plausible bodies, so that a refusal comes from the access check and not from validation.
BODIES: dict[str, Callable[[World], dict[str, Any]]] = {
    "annotator:dataset_new": lambda w: {"name": "sweep", "format": "jsonl", "stores": "S001"},
    "api-dataset-create": lambda w: {"name": "sweep", "format": "jsonl", "filters": {"store": "S001"}},
    "api-task-next": lambda w: {"queue": str(w.validation_queue.pk)},
    "api-task-heartbeat": lambda w: {"token": 1},
    "api-task-submit": lambda w: {
        "result": {"events": [{"event": str(w.event.pk), "verdict": "confirm"}], "missed": []},
        "submission_id": str(uuid.uuid4()),
    },
    "api-task-release": lambda w: {"reason": "sweep"},
    "api-annotation-reject": lambda w: {"comment": "sweep"},
    "annotator:annotation_reject": lambda w: {"comment": "sweep"},
    "annotator:lease_release": lambda w: {"confirm": "1"},
    "annotator:associate_store": lambda w: {"store": "S001", "granted": "0", "confirm": "1"},
    "annotator:queue_member": lambda w: {"associate": "alice", "member": "0", "confirm": "1"},
    "validation:calibration_apply": lambda w: {"threshold": "0.5", "target": "0.5", "confirm": "1"},
    "annotator:submit": lambda w: {
        "result": {"events": [{"event": str(w.event.pk), "verdict": "confirm"}], "missed": []},
        "submission_id": str(uuid.uuid4()),
    },
    "annotator:heartbeat": lambda w: {"token": 1},
    "annotator:release": lambda w: {"reason": "sweep"},
    "api-snippet-create": lambda w: {
        "file": SimpleUploadedFile("clip.mp4", b"\x00\x00\x00\x18ftypmp42", content_type="video/mp4"),
        "store": "S001",
        "camera": "C01",
        "external_id": "sweep-snippet",
        "started_at": timezone.now().isoformat(),
        "annotate": "true",
    },
    "api-visit-ingest": visit_body,
    "api-visit-bulk": lambda w: {"visits": [visit_body(w)]},
    "api-visit-dispute": lambda w: {"reason": "charged for an item I put back", "sku": "SKU-0001"},
    "validation:dispute_open": lambda w: {"reason": "charged for an item I put back", "sku": "SKU-0001"},
    "validation:webhook_create": lambda w: {"url": "https://billing.example.com/hooks", "events": "receipt.issued"},
    "validation:webhook_toggle": lambda w: {"active": "0"},
    "api-shopper-erase": lambda w: {"store": "S001", "shopper": w.visit.shopper},
    "api-store-policy": lambda w: {"snippet_overlap": 3},
}
MULTIPART = {"api-snippet-create", "annotator:dataset_new"}
QUERIES: dict[str, Callable[[World], dict[str, str]]] = {
    "annotator:dataset_count": lambda w: {"format": "jsonl", "stores": "S001"},
    "api-task-lookahead": lambda w: {"queue": str(w.validation_queue.pk), "limit": "5"},
    "validation:calibration": lambda w: {"store": "S001"},
    "annotator:product_search": lambda w: {"task": str(w.task.pk), "q": "S001"},
    "api-label-list": lambda w: {"store": "S001"},
    "api-media-views": lambda w: {"visit": str(w.visit.pk)},
}
# Endpoints that answer 200 with one status per item: denied means every item was denied.
PER_ITEM_STATUS: dict[str, Callable[[Any], list[int]]] = {
    "api-visit-bulk": lambda response: [item["status_code"] for item in response.json()["results"]],
}

# (pattern, role) -> methods that legitimately reach S001's data: only S001's own people.
# alice is S001's associate holding a live lease on `world.task`, which shows `world.snippet`.
REACHES_S001: dict[tuple[str, str], set[str]] = {
    ("annotator:claim_queue", "alice"): {"POST"},
    ("annotator:task", "alice"): {"GET"},
    ("annotator:submit", "alice"): {"POST"},
    ("annotator:heartbeat", "alice"): {"POST"},
    ("annotator:release", "alice"): {"POST"},
    ("annotator:task_preview", "alice"): {"GET"},
    ("annotator:product_search", "alice"): {"GET"},
    ("catalog:product_image", "alice"): {"GET"},
    ("annotator:snippet_video", "alice"): {"GET"},
    ("annotator:snippet_poster", "alice"): {"GET"},
    ("annotator:snippet_thumbnail", "alice"): {"GET"},
    ("api-task-next", "alice"): {"POST"},
    ("api-task-lookahead", "alice"): {"GET"},
    ("api-task-heartbeat", "alice"): {"POST"},
    ("api-task-submit", "alice"): {"POST"},
    ("api-task-release", "alice"): {"POST"},
    # alice's own rejection (of `world.annotation`): she may read it and dismiss it.
    ("annotator:rejection_read", "alice"): {"POST"},
}

NOT_OBJECT_SCOPED: dict[str, str] = {
    "annotator:datasets": "datasets whose every store the caller is granted; the form lists their own stores",
    "home": "the signed-in home: the caller's own stores only",
    "logout": "ends the caller's own session",
    "annotator:work": "the associate's own queues",
    "annotator:claim": "claims from the associate's own queues (claim_queue names one)",
    "annotator:supervise": "queues of the supervisor's own stores",
    "annotator:supervise_panel": "a console panel over the supervisor's own stores",
    "annotator:associates": "associates and work of the supervisor's own stores",
    "validation:dashboard_charts": "chart series of the supervisor's own stores",
    "api-metrics": "queue and turnaround figures of the caller's own stores",
    "validation:prometheus": "the same figures as text, the caller's own stores (all with METRICS_TOKEN)",
    "validation:deliveries": "webhook deliveries of receipts of the supervisor's own stores",
    "validation:deliveries_replay_failed": "replays failed deliveries of the supervisor's own stores only",
}

PUBLIC: dict[str, str] = {
    "healthz": "process liveness, no data",
    "readyz": "database reachability, no data",
    "login": "the sign-in form",
    "api-schema": "the OpenAPI document describes endpoints, never data",
    "api-docs": "Swagger UI over the schema",
}

# Views without a `catalog.gates` gate, and why.
UNGATED: dict[str, str] = {
    "logout": "Django's own view: ends whatever session there is",
    "annotator:snippet_video": "media for token clients too: 401 without credentials, then snippet_for_viewer",
    "annotator:snippet_poster": "as snippet_video",
    "annotator:snippet_thumbnail": "as snippet_video",
    "validation:prometheus": "also takes the scraper's METRICS_TOKEN (validation.metrics_api._caller)",
}

# The admin is swept separately (tests below): every admin page is staff-only.
SKIPPED_NAMESPACES = {"admin"}
ADMIN_URLS = (
    "admin:index",
    "admin:auth_user_changelist",
    "admin:catalog_store_changelist",
    "admin:annotator_task_changelist",
    "admin:validation_visit_changelist",
)


# ----------------------------------------------------------------------------------------
# Walking the URLconf
# ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Route:
    key: str  # "namespace:name", or the route text for an unnamed pattern
    named: bool


def walk(resolver: URLResolver | None = None, namespace: str = "", prefix: str = "") -> list[Route]:
    resolver = resolver or get_resolver()
    routes = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace
            if ns in SKIPPED_NAMESPACES:
                continue
            routes += walk(entry, f"{namespace}{ns}:" if ns else namespace, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            if entry.name:
                routes.append(Route(f"{namespace}{entry.name}", named=True))
            else:
                routes.append(Route(prefix + str(entry.pattern), named=False))
    return routes


def test_every_url_pattern_is_classified():
    known = set(URL_KWARGS) | set(NOT_OBJECT_SCOPED) | set(PUBLIC)
    unclassified = sorted({r.key for r in walk()} - known)
    assert not unclassified, (
        "URL patterns missing from the access sweep; add each to URL_KWARGS (object-scoped) or "
        f"NOT_OBJECT_SCOPED / PUBLIC (with a reason) in {__name__}: {unclassified}"
    )
    stale = sorted(known - {r.key for r in walk()})
    assert not stale, f"Registry entries for URL patterns that no longer exist: {stale}"


def views() -> dict[str, Callable]:
    """Every named view of config.urls (the admin's left out), by "namespace:name"."""
    found = {}

    def visit(resolver: URLResolver, namespace: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver) and entry.namespace not in SKIPPED_NAMESPACES:
                visit(entry, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
            elif isinstance(entry, URLPattern) and entry.name:
                found[f"{namespace}{entry.name}"] = entry.callback

    visit(get_resolver(), "")
    return found


def api_permission(view: Callable) -> type | None:
    """The one permission class of a DRF view (None for a plain Django view)."""
    cls = getattr(view, "cls", None)
    if cls is None or not issubclass(cls, APIView):
        return None
    return cls.permission_classes[0] if len(cls.permission_classes) == 1 else object


def test_every_view_wears_one_gate():
    problems = []
    for name, view in sorted(views().items()):
        if name in PUBLIC or name in UNGATED:
            continue
        permission = api_permission(view)
        if permission is not None:
            if not issubclass(permission, RolePermission):
                problems.append(f"{name}: wants exactly one permission class of catalog.gates")
        elif not isinstance(getattr(view, "gate", None), Gate):
            problems.append(f"{name}: wears no catalog.gates decorator")
    assert not problems, "\n".join(problems)
    assert set(UNGATED) <= set(views()), "UNGATED names a view that no longer exists"


def test_registry_lists_each_pattern_once():
    assert not set(URL_KWARGS) & set(NOT_OBJECT_SCOPED)
    assert not set(URL_KWARGS) & set(PUBLIC)
    assert not set(NOT_OBJECT_SCOPED) & set(PUBLIC)
    assert {name for name, _ in REACHES_S001} <= set(URL_KWARGS) | set(NOT_OBJECT_SCOPED)


# ----------------------------------------------------------------------------------------
# The world: S001 objects of every kind, and the personas.
# ----------------------------------------------------------------------------------------


@pytest.fixture
def world(settings, tmp_path, s001, s002, alice, bob, sam, s002_integration) -> World:
    settings.MEDIA_ROOT = str(tmp_path)
    now = timezone.now()
    camera = Camera.objects.get(store=s001, code="C01")
    product = Product.objects.get(store=s001, sku="SKU-0001")
    snippet = Snippet.objects.create(
        store=s001,
        camera=camera,
        external_id="s001-secret-snippet",
        started_at=now - timedelta(minutes=20),
        file=default_storage.save("snippets/s001-secret.mp4", ContentFile(b"\x00" * 64)),
        poster=default_storage.save("snippets/posters/s001-secret.jpg", ContentFile(b"\xff\xd8\xff\xd9")),
        thumbnail=default_storage.save("snippets/thumbs/s001-secret.jpg", ContentFile(b"\xff\xd8\xff\xd9")),
        sha256="0" * 64,
        size_bytes=1,
        container="mp4",
        codec="h264",
        duration_s=2.0,
        fps=10.0,
        width=64,
        height=48,
        frame_count=20,
    )
    visit = Visit.objects.create(
        store=s001,
        external_id="s001-secret-visit",
        shopper="anon-s001-secret-shopper",
        entered_at=now - timedelta(minutes=30),
        exited_at=now - timedelta(minutes=10),
        model_version="test-1",
        status=Visit.Status.PENDING_REVIEW,
        decision=Visit.Decision.REVIEW,
        threshold=0.9,
        min_confidence=0.4,
        due_at=now + timedelta(minutes=5),
        body_sha256="1" * 64,
        predicted_cart=[{"sku": "SKU-0001", "name": product.name, "quantity": 1, "price_minor": 100}],
    )
    event = Event.objects.create(
        visit=visit,
        seq=0,
        external_id="e1",
        action=Event.Action.TAKE,
        product=product,
        sku=product.sku,
        confidence=0.4,
        occurred_at=now - timedelta(minutes=20),
        camera=camera,
        snippet=snippet,
    )
    receipt = Receipt.objects.create(
        visit=visit, kind=Receipt.Kind.ISSUED, total_minor=100, currency="EUR", issued_at=now - timedelta(minutes=9)
    )
    ReceiptLine.objects.create(
        receipt=receipt, position=0, sku=product.sku, name=product.name, quantity=1, price_minor=100, total_minor=100
    )
    CartCorrection.objects.create(visit=visit, sku=product.sku, delta=-1, reason="reject", event=event)
    # A failed delivery of S001's receipt: replayable by S001's supervisors only.
    endpoint = WebhookEndpoint.objects.create(url="https://billing.example.com/hooks", secret="whsec_sweep")
    webhook_event = WebhookEvent.objects.create(type=receipt.kind, receipt=receipt, payload={"data": {}})
    WebhookDelivery.objects.create(
        event=webhook_event, endpoint=endpoint, status=WebhookDelivery.Status.FAILED, last_error="HTTP 500"
    )

    validation_queue = Queue.objects.create(store=s001, kind="visit_validation", name="Visit validation", overlap=2)
    snippet_queue = Queue.objects.create(store=s001, kind="snippet_annotation", name="Snippet annotation")
    s002_queue = Queue.objects.create(store=s002, kind="visit_validation", name="Visit validation")
    for queue in (validation_queue, snippet_queue):
        QueueMembership.objects.create(queue=queue, user=alice)
    QueueMembership.objects.create(queue=s002_queue, user=bob)

    payload = {"visit": str(visit.pk), "store": "S001", "events": [{"id": str(event.pk), "sku": product.sku}]}
    task = task_enqueue(
        queue=validation_queue, subject_id=visit.pk, due_at=visit.due_at, payload=payload, snippets=[snippet]
    )
    Slot.objects.filter(task=task, index=0).update(
        holder=alice, lease_token=1, leased_at=now, lease_expires_at=now + timedelta(minutes=5), last_heartbeat_at=now
    )
    snippet_task = task_enqueue(
        queue=snippet_queue,
        subject_id=snippet.pk,
        due_at=now + timedelta(minutes=30),
        payload={"snippet": str(snippet.pk), "width": 64, "height": 48, "fps": 10.0, "frame_count": 20},
        purpose="annotate",
        snippets=[snippet],
    )
    done_task = task_enqueue(
        queue=snippet_queue,
        subject_id=snippet.pk,
        due_at=now - timedelta(minutes=1),
        payload={"snippet": str(snippet.pk)},
        purpose="annotate",
        snippets=[snippet],
    )
    done_slot = done_task.slots.get()
    done_slot.state = Slot.State.DONE
    done_slot.holder = alice
    done_slot.save(update_fields=["state", "holder"])
    done_task.status = Task.Status.DONE
    done_task.annotations_done = 1
    done_task.done_at = now
    done_task.save(update_fields=["status", "annotations_done", "done_at"])
    annotation = Annotation.objects.create(
        task=done_task,
        slot=done_slot,
        store_id=done_slot.task.store_id,
        associate=alice,
        kind="snippet_annotation",
        result={"action": "take", "sku": "SKU-0001", "boxes": []},
        submission_id=uuid.uuid4(),
    )
    TaskExclusion.objects.create(task=snippet_task, user=User.objects.get(username="alice"), cause="released")
    supervisor = User.objects.create_user("s001-sweep-supervisor")
    Rejection.objects.create(
        annotation=annotation, task=done_task, associate=alice, supervisor=supervisor, comment="s001-secret-comment"
    )
    MediaView.objects.create(user=alice, snippet=snippet, task=task, what="poster")
    dataset = Dataset.objects.create(
        name="s001-secret-dataset",
        format="jsonl",
        filters={"stores": ["S001"]},
        status=Dataset.Status.FAILED,
        error="sweep",
        file=default_storage.save("datasets/s001-secret.jsonl", ContentFile(b"{}\n")),
        size_bytes=3,
    )
    dataset.stores.add(s001)

    return World(
        s001=s001,
        s002=s002,
        validation_queue=validation_queue,
        snippet_queue=snippet_queue,
        s002_queue=s002_queue,
        snippet=snippet,
        visit=visit,
        event=event,
        receipt=receipt,
        task=task,
        snippet_task=snippet_task,
        done_task=done_task,
        annotation=annotation,
        users={"anonymous": None, "alice": alice, "bob": bob, "sam": sam, "s002_integration": s002_integration},
    )


# ----------------------------------------------------------------------------------------
# Measuring change
# ----------------------------------------------------------------------------------------


def loupe_models() -> list:
    app_labels = {"catalog", "annotator", "validation", "auth", "authtoken", "django_tasks_db"}
    return [m for m in apps.get_models() if m._meta.app_label in app_labels and not m._meta.proxy]


# The columns other people's requests might flip (leases, task and visit states, policies),
# as SQL aggregates that read the same on PostgreSQL and SQLite.
KEY_COLUMNS = {
    Slot: [
        "SUM(lease_token)",
        "COUNT(holder_id)",
        "MAX(lease_expires_at)",
        "MAX(last_heartbeat_at)",
        "SUM(CASE WHEN state = 'open' THEN 1 ELSE 0 END)",
    ],
    Task: [
        "SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END)",
        "SUM(annotations_done)",
        "SUM(priority)",
        "MAX(due_at)",
        "MAX(done_at)",
    ],
    Queue: ["SUM(CASE WHEN is_paused THEN 1 ELSE 0 END)", "SUM(lease_seconds)", "SUM(overlap)"],
    Visit: ["SUM(CASE WHEN status = 'pending_review' THEN 1 ELSE 0 END)", "COUNT(final_cart)", "MAX(due_at)"],
    Store: ["SUM(sla_minutes)", "SUM(auto_accept_threshold)", "SUM(audit_rate)"],
    Product: ["SUM(price_minor)", "SUM(CASE WHEN active THEN 1 ELSE 0 END)"],
    User: ["SUM(CASE WHEN is_active THEN 1 ELSE 0 END)", "SUM(CASE WHEN is_staff THEN 1 ELSE 0 END)"],
}


def fingerprint_sql() -> str:
    """One statement: the row count of every Loupe model and the key-column aggregates."""
    quote = connection.ops.quote_name
    # A model whose migration is not written yet is for `makemigrations --check` to catch.
    tables = set(connection.introspection.table_names())
    parts = [
        f"(SELECT COUNT(*) FROM {quote(m._meta.db_table)})"  # noqa: S608
        for m in loupe_models()
        if m._meta.db_table in tables
    ]
    for model, aggregates in KEY_COLUMNS.items():
        parts += [f"(SELECT {aggregate} FROM {quote(model._meta.db_table)})" for aggregate in aggregates]  # noqa: S608
    # Table names and aggregates come from this module and the model registry, not from input.
    return "SELECT " + ", ".join(parts)


def fingerprint(sql: str) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


class WriteRecorder:
    """Records every INSERT/UPDATE/DELETE statement that touched a row, but session writes.

    A conditional UPDATE that matched nothing (`… WHERE holder_id = <caller>`, the way a
    fenced heartbeat refuses someone else's task) changed nothing and is not recorded.
    """

    def __init__(self) -> None:
        self.writes: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        writes = head in {"INSERT", "UPDATE", "DELETE", "REPLACE"} and not any(t in sql for t in SESSION_TABLES)
        if writes and context["cursor"].rowcount != 0:  # -1 (unknown) counts as a write
            self.writes.append(sql[:160])
        return result


# ----------------------------------------------------------------------------------------
# The sweep
# ----------------------------------------------------------------------------------------


def clients(world: World) -> dict[str, Client]:
    result = {}
    for role, user in world.users.items():
        client = Client(raise_request_exception=False)
        if role == "s002_integration":
            token, _ = Token.objects.get_or_create(user=user)
            client.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"
        elif user is not None:
            client.force_login(user)
        result[role] = client
    return result


def send(client: Client, method: str, path: str, name: str, world: World):
    body = BODIES[name](world) if name in BODIES and (method == "POST" or name not in MULTIPART) else {}
    if method == "GET":
        return client.get(path, QUERIES[name](world) if name in QUERIES else None)
    if method == "POST" and name in MULTIPART:
        return client.post(path, body)
    return client.generic(method, path, json.dumps(body), content_type="application/json")


def is_login_redirect(response, path: str) -> bool:
    if response.status_code != 302 or path.startswith("/api/"):
        return False
    location = response.headers.get("Location", "")
    return location.startswith((reverse("login"), reverse("admin:login")))


def is_denied(name: str, response, path: str) -> bool:
    if response.status_code in DENIED or is_login_redirect(response, path):
        return True
    if name in PER_ITEM_STATUS and response.status_code == 200:
        return all(code in DENIED for code in PER_ITEM_STATUS[name](response))
    return False


def body_text(response) -> str:
    if getattr(response, "streaming", False):
        return ""  # media: a denied request never streams
    return response.content.decode("utf-8", "replace")


def sweep(world: World, names: list[str], *, scoped: bool, roles: tuple[str, ...] = ROLES) -> list[str]:
    problems: list[str] = []
    by_role = {role: client for role, client in clients(world).items() if role in roles}
    secrets = world.secrets()
    sql = fingerprint_sql()
    baseline = fingerprint(sql)
    for name in names:
        kwargs = URL_KWARGS[name](world) if scoped else {}
        path = reverse(name, kwargs=kwargs)
        for role, client in by_role.items():
            for method in METHODS:
                allowed = method in REACHES_S001.get((name, role), set())
                recorder = WriteRecorder()
                cookies = copy.deepcopy(client.cookies)  # a swept logout must not sign the persona out
                with transaction.atomic():
                    with connection.execute_wrapper(recorder):
                        response = send(client, method, path, name, world)
                    # The recorder sees every statement; the fingerprint double-checks the
                    # answers that got past method dispatch and had to be refused by access checks.
                    checked = not allowed and response.status_code != 405
                    changed = checked and fingerprint(sql) != baseline
                    transaction.set_rollback(True)
                client.cookies = cookies
                where = f"{method} {path} ({name}) as {role} → {response.status_code}"
                if response.status_code >= 500:
                    problems.append(f"{where}: server error")
                    continue
                if allowed or (role == "alice" and not scoped):
                    continue
                if scoped and not is_denied(name, response, path):
                    problems.append(f"{where}: expected 401/403/404/405 or a login redirect")
                if recorder.writes or changed:
                    problems.append(f"{where}: changed the database {recorder.writes[:3]}")
                if role in OUTSIDERS and response.status_code != 302:
                    text = body_text(response)
                    leaked = [s for s in secrets if s in text and s not in path]
                    if leaked:
                        problems.append(f"{where}: shows S001 data {leaked}")
    return problems


@pytest.mark.django_db
def test_no_role_reaches_another_stores_objects(world):
    problems = sweep(world, sorted(URL_KWARGS), scoped=True)
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_unscoped_pages_show_outsiders_nothing_of_s001(world):
    problems = sweep(world, sorted(NOT_OBJECT_SCOPED), scoped=False)
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_public_pages_never_fail_and_never_write(world):
    # Two roles are enough for pages that ignore who asks (and the schema is slow to build).
    problems = sweep(world, sorted(PUBLIC), scoped=False, roles=("anonymous", "bob"))
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_admin_is_for_staff_only(world):
    admin_login = reverse("admin:login")
    problems = []
    for role, client in clients(world).items():
        for name in ADMIN_URLS:
            path = reverse(name)
            response = client.get(path)
            if response.status_code != 302 or not response.headers["Location"].startswith(admin_login):
                problems.append(f"GET {path} as {role} → {response.status_code}: expected the admin login")
    assert not problems, "\n".join(problems)


def test_admin_opens_for_a_superuser(admin_client):
    for name in ADMIN_URLS:
        assert admin_client.get(reverse(name)).status_code == 200, name


def test_sweep_settings_are_not_debug():
    # A DEBUG 404 page echoes the URLconf, which would make the leak check meaningless.
    assert not settings.DEBUG


@pytest.mark.django_db
def test_gates_answer_one_way(world):
    """Anonymous: the login page (a page) or 401 (an API view). Signed in without the role:
    403 from both. Token clients are anonymous to pages, which read sessions only."""
    problems = []
    by_role = clients(world)
    for name, view in sorted(views().items()):
        if name in PUBLIC or name in UNGATED:
            continue
        permission = api_permission(view)
        admits = (lambda user, p=permission: holds_any(user, p.roles)) if permission else view.gate.admits
        path = reverse(name, kwargs=URL_KWARGS[name](world) if name in URL_KWARGS else {})
        for role, client in by_role.items():
            user = world.users[role]
            if permission is None and role == "s002_integration":
                user = None
            if user is not None and admits(user):
                continue
            for method in ("GET", "POST"):
                with transaction.atomic():
                    response = send(client, method, path, name, world)
                    transaction.set_rollback(True)
                if response.status_code == 405:
                    continue
                if user is not None:
                    expected, ok = "403", response.status_code == 403
                elif permission is not None:
                    expected, ok = "401", response.status_code == 401
                else:
                    expected, ok = "the login page", is_login_redirect(response, path)
                if not ok:
                    problems.append(f"{method} {path} ({name}) as {role} → {response.status_code}, expected {expected}")
    assert not problems, "\n".join(problems)
