"""Shopper tokens never leave Loupe except to the store's own integration (API.md: "Loupe never
shows it to associates"; exports, webhooks and logs carry none). Representative flows run with
known tokens; then every log record, response body, export file and webhook body they produced
is searched for them."""

import io
import json
import logging
import zipfile

import pytest
from django.core.files.storage import default_storage

from annotator.models import Label, Task
from annotator.services.datasets import dataset_build, dataset_create
from annotator.services.work import task_claim
from tests.annotator.labelling import snippet_label
from tests.annotator.screens import clip_snippet
from tests.conftest import session_client, token_client
from tests.validation.bodies import event_body, visit_body
from tests.validation.review import validate, verdicts
from validation.models import Visit, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db
TOKENS = ("anon-leak-canary-0001", "anon-leak-canary-0002", "anon-leak-canary-0003")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


class Written:
    """Everything the flows wrote where a token must not be."""

    def __init__(self):
        self.items: list[tuple[str, bytes]] = []

    def add(self, where: str, data: bytes | str) -> None:
        self.items.append((where, data.encode() if isinstance(data, str) else data))

    def response(self, where: str, response) -> None:
        content = b"".join(response.streaming_content) if response.streaming else response.content
        self.add(f"{where} ({response.status_code})", content)
        return response


def file_bytes(name: str) -> list[bytes]:
    with default_storage.open(name, "rb") as f:
        data = f.read()
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [archive.read(member) for member in archive.namelist()]
    return [data]


def test_no_log_record_response_export_or_webhook_body_carries_a_shopper_token(
    s001, alice, carol, s001_integration, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    written = Written()
    WebhookEndpoint.objects.create(
        url="http://127.0.0.1:9/hooks", secret="whsec_test", event_types=["receipt.issued", "receipt.corrected"]
    )
    cv = token_client(s001_integration)
    snippet = clip_snippet(s001, "clip-leak", reuse_redaction=True).snippet

    # (On-commit callbacks do not run: they would send the webhooks; what they would send is
    # `event.body()`, searched below.)
    # Ingestion: one sure visit (receipt + webhook at once), one for review, bad input, a conflict.
    sure = visit_body("S001", shopper=TOKENS[0], events=[event_body(1, snippet=snippet.external_id)])
    unsure = visit_body("S001", shopper=TOKENS[1], events=[event_body(1, confidence=0.3, snippet=snippet.external_id)])
    written.response("ingest sure", cv.post("/api/v1/visits/", sure, format="json"))
    written.response("ingest unsure", cv.post("/api/v1/visits/", unsure, format="json"))
    written.response("conflict", cv.post("/api/v1/visits/", {**sure, "shopper": TOKENS[2]}, format="json"))
    bad = visit_body("S001", shopper=TOKENS[2], events=[event_body(1, sku="NOPE")])
    written.response("bad sku", cv.post("/api/v1/visits/", bad, format="json"))
    written.response("bulk", cv.post("/api/v1/visits/bulk/", {"visits": [bad, {"shopper": TOKENS[2]}]}, format="json"))
    too_long = visit_body("S001", shopper=TOKENS[2] * 10)
    written.response("bad shopper", cv.post("/api/v1/visits/", too_long, format="json"))

    pending = Visit.objects.get(shopper=TOKENS[1])
    task = Task.objects.get(subject_id=pending.pk)
    # The associate's screens, then the validation that issues the receipt.
    task_claim(associate=alice)
    written.response("task page", session_client(alice).get(f"/work/tasks/{task.pk}/"))
    written.response("task api", token_client(alice).post("/api/v1/tasks/next/", {}, format="json"))
    task.refresh_from_db()
    written.add("task payload", json.dumps(task.payload))
    validate(alice, task, verdicts(pending))

    # Supervisors' reads and pages.
    supervisor = session_client(carol)
    for visit in Visit.objects.all():
        written.response("visit as supervisor", supervisor.get(f"/api/v1/visits/{visit.pk}/"))
        written.response("media views", supervisor.get("/api/v1/media-views/", {"visit": str(visit.pk)}))
        written.response("dispute", cv.post(f"/api/v1/visits/{visit.pk}/disputes/", {"reason": "no"}, format="json"))
    for page in (
        "/supervise/",
        "/supervise/associates/",
        "/supervise/calibration/?store=S001",
        "/supervise/deliveries/",
    ):
        written.response(page, supervisor.get(page))
    written.response("404 page", supervisor.get("/api/v1/visits/00000000-0000-0000-0000-000000000000/"))

    # Training data out: the feed and every export format.
    snippet_label(
        store=s001,
        associate=alice,
        snippet=snippet,
        boxes=[{"frame": 0, "label": "hand", "x": 2, "y": 2, "w": 9, "h": 9}],
    )
    written.response("labels feed", cv.get("/api/v1/labels/", {"store": "S001"}))
    for fmt in ("jsonl", "csv", "coco"):
        dataset = dataset_build(dataset_id=dataset_create(name=fmt, format=fmt, filters={"store": "S001"}, by=carol).pk)
        assert dataset.status == "ready", dataset.error
        for data in file_bytes(dataset.file.name):
            written.add(f"{fmt} export", data)

    # Webhook bodies, exactly as they are signed and sent.
    assert WebhookEvent.objects.exists()
    for event in WebhookEvent.objects.all():
        written.add("webhook body", event.body())

    # The control: the store's own integration does get its token back, so the search can find one.
    sure_visit = Visit.objects.get(shopper=TOKENS[0])
    assert TOKENS[0].encode() in cv.get(f"/api/v1/visits/{sure_visit.pk}/").content

    # Erasure: the request carries the token; nothing written about it may.
    with django_capture_on_commit_callbacks(execute=True):
        written.response(
            "erase", cv.post("/api/v1/shoppers/erase/", {"store": "S001", "shopper": TOKENS[0]}, format="json")
        )
        written.response(
            "erase again", cv.post("/api/v1/shoppers/erase/", {"store": "S001", "shopper": TOKENS[2]}, format="json")
        )
    written.response("console after erasure", supervisor.get("/supervise/panel/", {"name": "privacy"}))

    for record in caplog.records:
        written.add(f"log {record.name}", record.getMessage() + repr(record.args) + repr(record.__dict__))
    assert Label.objects.exists() and len(written.items) > 30
    leaks = [(where, token) for where, data in written.items for token in TOKENS if token.encode() in data]
    assert leaks == []
