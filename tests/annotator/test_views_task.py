"""The workbench views: claim, the task screens, submit with the next task, heartbeat,
release and the product type-ahead, through real URLs, checking the database afterwards."""

import json
import uuid
from html import unescape as html_unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotator.models import Annotation, QueueMembership, Slot, TaskExclusion
from annotator.synth import make_clip
from tests.annotator.redacting import ingest_redacted
from tests.annotator.work import expire_leases
from tests.validation.bodies import event_body, visit_body
from validation.models import Visit
from validation.services import visit_ingest

pytestmark = pytest.mark.django_db


def ingest_visit(store, *, low: int = 2, sure: int = 1, snippet=None):
    events = [
        event_body(
            n + 1,
            sku=f"SKU-000{n % 5 + 1}",
            confidence=0.5 if n < low else 0.97,
            candidates=[{"sku": "SKU-0005", "score": 0.2}, {"sku": "SKU-0004", "score": 0.1}],
            **({"snippet": snippet.external_id} if snippet is not None else {}),
        )
        for n in range(low + sure)
    ]
    now = timezone.now()
    body = visit_body(store.code, events=events, exited_at=now.isoformat(), entered_at=now.isoformat())
    return visit_ingest(store=store, payload=body)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def htmx(client: Client, url: str, body: dict | None = None):
    return client.post(url, json.dumps(body or {}), content_type="application/json", HTTP_HX_REQUEST="true")


def confirm_all(task) -> dict:
    return {"events": [{"event": e["id"], "verdict": "confirm"} for e in task.payload["events"]], "missed": []}


def claim(client: Client):
    response = client.post(reverse("annotator:claim"))
    assert response.status_code == 302
    return response


def test_start_claims_the_most_urgent_task_and_opens_its_screen(s001, alice, queue, snippet):
    result = ingest_visit(s001, snippet=snippet)
    client = browser(alice)
    response = claim(client)
    assert response["Location"] == reverse("annotator:task", args=[result.task.pk])
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="workbench"' in html
    assert "S001 product 1" in html
    assert reverse("annotator:snippet_video", args=[snippet.pk]) in html
    assert html.count('data-low="1"') == 2
    assert "anon-7f3a9c" not in html  # never the shopper token
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_start_with_nothing_waiting_goes_back_to_work_home(alice, queue):
    response = browser(alice).post(reverse("annotator:claim"))
    assert response.status_code == 302
    assert response["Location"] == reverse("annotator:work")


def test_htmx_claim_answers_with_the_screen_partial(s001, alice, queue):
    ingest_visit(s001)
    response = browser(alice).post(
        reverse("annotator:claim_queue", args=[queue.pk]), {"notice": "You lost it."}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="workbench"')
    assert "<html" not in html
    assert "You lost it." in html


def test_another_associates_task_is_404(s001, alice, dave, queue):
    task = ingest_visit(s001).task
    claim(browser(alice))
    other = browser(dave)
    assert other.get(reverse("annotator:task", args=[task.pk])).status_code == 404
    response = htmx(
        other,
        reverse("annotator:submit", args=[task.pk]),
        {"result": confirm_all(task), "submission_id": str(uuid.uuid4())},
    )
    assert response.status_code == 409
    assert not Annotation.objects.exists()


def test_another_stores_associate_gets_404_everywhere(s001, alice, bob, queue):
    task = ingest_visit(s001).task
    claim(browser(alice))
    client = browser(bob)
    assert client.get(reverse("annotator:task", args=[task.pk])).status_code == 404
    for name in ("submit", "heartbeat", "release"):
        assert htmx(client, reverse(f"annotator:{name}", args=[task.pk])).status_code == 404
    assert client.get(reverse("annotator:product_search"), {"task": task.pk, "q": "S001"}).status_code == 404


def test_submit_stores_the_result_and_returns_the_next_task_screen(s001, alice, queue):
    first = ingest_visit(s001).task
    second = ingest_visit(s001).task
    client = browser(alice)
    claim(client)
    slot = Slot.objects.get(task=first, holder=alice)
    result = {
        "events": [
            {"event": first.payload["events"][0]["id"], "verdict": "correct", "sku": "SKU-0005"},
            {"event": first.payload["events"][1]["id"], "verdict": "reject"},
            {"event": first.payload["events"][2]["id"], "verdict": "confirm"},
        ],
        "missed": [{"sku": "SKU-0003", "action": "take", "quantity": 2}],
    }
    response = htmx(
        client,
        reverse("annotator:submit", args=[first.pk]),
        {"result": result, "submission_id": str(uuid.uuid4()), "token": slot.lease_token},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-task="{second.pk}"' in html
    assert "<html" not in html
    annotation = Annotation.objects.get(task=first)
    assert annotation.result["events"][0] == {
        "event": first.payload["events"][0]["id"],
        "verdict": "correct",
        "sku": "SKU-0005",
        "action": "take",
        "quantity": 1,
        # No evidence sent: all zero; a correction is checked all the same.
        "evidence": {"opened": False, "watched_ms": 0, "frames_viewed": 0},
        "checked": True,
    }
    assert annotation.result["missed"] == [{"sku": "SKU-0003", "action": "take", "quantity": 2, "snippet": None}]
    assert Visit.objects.get(pk=first.subject_id).status == Visit.Status.VALIDATED
    assert Slot.objects.filter(task=second, holder=alice, state=Slot.State.OPEN).exists()


def test_submit_of_the_last_task_shows_that_nothing_is_left(s001, alice, queue):
    task = ingest_visit(s001).task
    client = browser(alice)
    claim(client)
    response = htmx(
        client,
        reverse("annotator:submit", args=[task.pk]),
        {"result": confirm_all(task), "submission_id": str(uuid.uuid4())},
    )
    assert response.status_code == 200
    assert 'id="wb-done"' in response.content.decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"result": {"events": []}}, "submission_id"),
        ({"result": "nope", "submission_id": "x"}, "submission_id"),
        ({"result": [], "submission_id": "00000000-0000-4000-8000-000000000001"}, "result"),
        ({"result": {"events": [], "missed": []}, "submission_id": "00000000-0000-4000-8000-000000000001"}, "events"),
        ({"result": {"events": "all"}, "submission_id": "00000000-0000-4000-8000-000000000001"}, "events"),
        ({"result": {"bogus": 1}, "submission_id": "00000000-0000-4000-8000-000000000001"}, "bogus"),
    ],
)
def test_a_bad_result_is_400_with_the_field_and_stores_nothing(s001, alice, queue, body, field):
    task = ingest_visit(s001).task
    client = browser(alice)
    claim(client)
    response = htmx(client, reverse("annotator:submit", args=[task.pk]), body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert not Annotation.objects.exists()
    assert Slot.objects.get(task=task, holder=alice).state == Slot.State.OPEN


def test_unknown_sku_in_a_correction_is_400(s001, alice, queue):
    task = ingest_visit(s001, low=1, sure=0).task
    client = browser(alice)
    claim(client)
    result = {"events": [{"event": task.payload["events"][0]["id"], "verdict": "correct", "sku": "SKU-9999"}]}
    response = htmx(
        client, reverse("annotator:submit", args=[task.pk]), {"result": result, "submission_id": str(uuid.uuid4())}
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "unknown_sku",
        "detail": "Unknown sku 'SKU-9999' in this store.",
        "field": "events[0].sku",
    }


@pytest.mark.parametrize("sku", ["\ud800", "SKU\x00"])
def test_a_sku_no_query_can_carry_is_400_with_its_field(s001, alice, queue, sku):
    task = ingest_visit(s001, low=1, sure=0).task
    client = browser(alice)
    claim(client)
    result = {"events": [{"event": task.payload["events"][0]["id"], "verdict": "correct", "sku": sku}]}
    response = htmx(
        client, reverse("annotator:submit", args=[task.pk]), {"result": result, "submission_id": str(uuid.uuid4())}
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "events[0].sku"
    assert not Annotation.objects.exists()


@pytest.mark.parametrize("action", ["submit", "heartbeat", "release"])
def test_a_body_nested_too_deeply_is_400_malformed(s001, alice, queue, action):
    task = ingest_visit(s001).task
    client = browser(alice)
    claim(client)
    body = "[" * 100_000 + "]" * 100_000
    response = client.post(reverse(f"annotator:{action}", args=[task.pk]), body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"
    assert Slot.objects.get(task=task).holder == alice
    assert not Annotation.objects.exists()


def test_malformed_json_is_400(s001, alice, queue):
    task = ingest_visit(s001).task
    client = browser(alice)
    claim(client)
    response = client.post(reverse("annotator:submit", args=[task.pk]), "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_heartbeat_extends_the_lease(s001, alice, queue):
    task = ingest_visit(s001).task
    client = browser(alice)
    claim(client)
    before = Slot.objects.get(task=task).lease_expires_at
    response = htmx(client, reverse("annotator:heartbeat", args=[task.pk]))
    assert response.status_code == 200
    assert Slot.objects.get(task=task).lease_expires_at >= before
    assert "lease_expires_at" in response.json()


def test_lease_lost_to_another_associate_is_409_on_heartbeat_and_submit(s001, alice, dave, queue):
    task = ingest_visit(s001).task
    alice_client = browser(alice)
    claim(alice_client)
    expire_leases(task=task)
    claim(browser(dave))  # dave takes the expired slot
    assert Slot.objects.get(task=task).holder == dave
    heartbeat = htmx(alice_client, reverse("annotator:heartbeat", args=[task.pk]))
    assert heartbeat.status_code == 409
    assert heartbeat.json()["error"]["code"] == "lease_lost"
    submit = htmx(
        alice_client,
        reverse("annotator:submit", args=[task.pk]),
        {"result": confirm_all(task), "submission_id": str(uuid.uuid4())},
    )
    assert submit.status_code == 409
    assert submit.json()["error"]["code"] == "lease_lost"
    assert not Annotation.objects.exists()
    assert alice_client.get(reverse("annotator:task", args=[task.pk])).status_code == 404


def test_a_stale_token_is_lease_lost(s001, alice, queue):
    task = ingest_visit(s001).task
    client = browser(alice)
    claim(client)
    token = Slot.objects.get(task=task).lease_token
    response = htmx(client, reverse("annotator:heartbeat", args=[task.pk]), {"token": token + 1})
    assert response.status_code == 409
    assert htmx(client, reverse("annotator:heartbeat", args=[task.pk]), {"token": "1"}).status_code == 400


def test_release_frees_the_task_records_the_reason_and_returns_the_next(s001, alice, queue):
    first = ingest_visit(s001).task
    second = ingest_visit(s001).task
    client = browser(alice)
    claim(client)
    response = htmx(client, reverse("annotator:release", args=[first.pk]), {"reason": "Video does not play"})
    assert response.status_code == 200
    assert f'data-task="{second.pk}"' in response.content.decode()
    assert "Task skipped." in response.content.decode()
    exclusion = TaskExclusion.objects.get(task=first, user=alice)
    assert exclusion.reason == "Video does not play"
    assert Slot.objects.get(task=first).holder is None
    assert htmx(client, reverse("annotator:release", args=[second.pk]), {"reason": 5}).status_code == 400
    refused = htmx(client, reverse("annotator:release", args=[second.pk]), {"reason": "bad \ud800"})
    assert (refused.status_code, refused.json()["error"]["field"]) == (400, "reason")
    assert Slot.objects.get(task=second).holder == alice


def test_product_search_finds_products_of_the_task_store_only(s001, s002, alice, queue):
    task = ingest_visit(s001).task
    client = browser(alice)
    claim(client)
    url = reverse("annotator:product_search")
    response = client.get(url, {"task": task.pk, "q": "product 3"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-sku="SKU-0003"' in html
    assert "S001 product 3" in html
    assert "S002" not in html
    by_sku = client.get(url, {"task": task.pk, "q": "sku-000"}).content.decode()
    assert by_sku.count('data-sku="') == 5
    assert "S002 product" not in by_sku
    assert "No product matches" in client.get(url, {"task": task.pk, "q": "zzz"}).content.decode()


def test_product_search_needs_a_held_task(s001, alice, dave, queue):
    task = ingest_visit(s001).task
    claim(browser(alice))
    url = reverse("annotator:product_search")
    assert browser(dave).get(url, {"task": task.pk, "q": "product"}).status_code == 404
    assert browser(alice).get(url, {"q": "product"}).status_code == 404
    assert browser(alice).get(url, {"task": "not-a-uuid", "q": "product"}).status_code == 404


HAND_OUTSIDE = {"frame": 0, "label": "hand", "x": 300, "y": 0, "w": 40, "h": 10}
PRODUCT_BOX = {"frame": 2, "label": "product", "x": 10, "y": 20, "w": 30, "h": 40}


def test_snippet_task_screen_and_submit(s001, alice):
    clip = make_clip(seconds=1, fps=10, width=320, height=240, seed=3)
    ingested = ingest_redacted(
        store=s001,
        camera=s001.cameras.get(code="C01"),
        external_id="annotate-1",
        started_at=timezone.now(),
        upload=SimpleUploadedFile("clip.mp4", clip.data),
        annotate=True,
        predictions=[{"frame": 2, "label": "product", "sku": "SKU-0002", "box": [10, 20, 30, 40], "score": 0.8}],
        reuse_redaction=True,
    )
    QueueMembership.objects.get_or_create(queue=ingested.task.queue, user=alice)
    client = browser(alice)
    claim(client)
    page = client.get(reverse("annotator:task", args=[ingested.task.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="wb-canvas" width="320" height="240"' in html
    # The model's boxes ride in a <template> as HTML-escaped JSON text (see snippet_task.html).
    assert '"x": 10, "y": 20, "w": 30, "h": 40' in html_unescape(html)
    assert 'data-sku="SKU-0002"' in html
    bad = htmx(
        client,
        reverse("annotator:submit", args=[ingested.task.pk]),
        {
            "result": {
                "action": "take",
                "sku": "SKU-0002",
                "boxes": [HAND_OUTSIDE],
            },
            "submission_id": str(uuid.uuid4()),
        },
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "boxes[0].w"
    good = htmx(
        client,
        reverse("annotator:submit", args=[ingested.task.pk]),
        {
            "result": {
                "action": "take",
                "sku": "SKU-0002",
                "boxes": [PRODUCT_BOX],
            },
            "submission_id": str(uuid.uuid4()),
        },
    )
    assert good.status_code == 200
    assert Annotation.objects.get(task=ingested.task).result["boxes"][0]["x"] == 10


def test_views_need_an_associate_or_a_supervisor_claiming_escalations(s001, s001_integration, carol, alice, queue):
    task = ingest_visit(s001).task
    claim(browser(alice))
    # A supervisor works escalations only: alice's task is not theirs, and nothing waits for them.
    client = browser(carol)
    assert client.get(reverse("annotator:task", args=[task.pk])).status_code == 404
    claimed = client.post(reverse("annotator:claim"))
    assert claimed.status_code == 302 and claimed.url == reverse("annotator:work")
    integration = browser(s001_integration)
    assert integration.get(reverse("annotator:task", args=[task.pk])).status_code == 403
    assert integration.post(reverse("annotator:claim")).status_code == 403
    assert Client().post(reverse("annotator:heartbeat", args=[task.pk])).status_code == 302


def test_product_search_puts_the_products_the_model_considered_first(s001, alice, queue):
    task = ingest_visit(s001).task
    client = browser(alice)
    claim(client)
    url = reverse("annotator:product_search")
    html = client.get(url, {"task": task.pk, "q": "product", "prefer": "SKU-0004,NOPE"}).content.decode()
    assert html.index('data-sku="SKU-0004"') < html.index('data-sku="SKU-0001"')


def test_a_token_beyond_the_bigint_range_is_400_on_the_workbench(s001, alice, queue):
    task = ingest_visit(s001).task
    client = browser(alice)
    claim(client)
    response = htmx(client, reverse("annotator:heartbeat", args=[task.pk]), {"token": 2**63})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "token"
