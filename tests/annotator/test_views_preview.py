"""The preview of the next task (`annotator:task_preview`): the screen of the task a submit
would most likely claim next, without media, lease token or shopper, and without leasing
anything. Through real URLs, checking the database afterwards."""

import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotator.models import Annotation, QueueMembership, Slot, TaskExclusion
from annotator.services.queues import queue_for
from annotator.services.work import task_claim
from tests.annotator.screens import clip_snippet
from tests.annotator.work import expire_leases
from tests.validation.bodies import event_body, visit_body
from validation.services import visit_ingest

pytestmark = pytest.mark.django_db
SHOPPER = "anon-7f3a9c"  # tests.validation.bodies.visit_body's shopper token


def ingest_visit(store, *, sku: str = "SKU-0001", candidate: str = "SKU-0005", snippet=None):
    """A visit with two unsure events of `sku` (so it needs review) and one sure one, each with
    `candidate` (a sku of the store) as the model's next guess."""
    events = [
        event_body(
            n + 1,
            sku=sku if n < 2 else "SKU-0003",
            confidence=0.5 if n < 2 else 0.97,
            candidates=[{"sku": candidate, "score": 0.2}],
            **({"snippet": snippet.external_id} if snippet is not None else {}),
        )
        for n in range(3)
    ]
    now = timezone.now().isoformat()
    return visit_ingest(store=store, payload=visit_body(store.code, events=events, exited_at=now, entered_at=now))


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def preview_url(task) -> str:
    return reverse("annotator:task_preview", args=[task.pk])


def slots() -> list[tuple]:
    return list(
        Slot.objects.order_by("pk").values_list(
            "pk", "state", "holder_id", "lease_token", "lease_expires_at", "leased_at", "last_heartbeat_at"
        )
    )


def test_preview_is_the_next_visit_without_media_lease_or_shopper(s001, alice, queue, snippet):
    first = ingest_visit(s001, sku="SKU-0001", snippet=snippet)
    second = ingest_visit(s001, sku="SKU-0002", snippet=snippet)
    client = browser(alice)
    assert task_claim(associate=alice).task.pk == first.task.pk

    response = client.get(preview_url(first.task))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-task="{second.task.pk}"' in html
    assert f'data-task="{first.task.pk}"' not in html
    for event in second.task.payload["events"]:
        assert f'data-event="{event["id"]}"' in html
    assert 'data-sku="SKU-0002"' in html  # the predicted product
    assert 'data-sku="SKU-0005"' in html  # a candidate
    assert 'id="wb-sla"' in html
    assert "claiming…" in html
    assert "#2 this session" in html
    # No media: the clip's URLs are blank, so nothing is fetched for them.
    assert "/media/" not in html
    assert str(snippet.pk) not in html
    assert 'src=""' in html
    # No lease token, no URL to act on the previewed task, never the shopper.
    assert 'data-token=""' in html
    assert 'data-url-submit=""' in html
    assert reverse("annotator:submit", args=[second.task.pk]) not in html
    assert "data-url-preview" not in html
    assert SHOPPER not in html
    assert second.visit.external_id not in html
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_the_held_screen_links_its_preview(s001, alice, queue):
    first = ingest_visit(s001)
    task_claim(associate=alice)
    html = browser(alice).get(reverse("annotator:task", args=[first.task.pk])).content.decode()
    assert f'data-url-preview="{preview_url(first.task)}"' in html


def test_preview_leases_nothing(s001, alice, dave, queue):
    first = ingest_visit(s001)
    ingest_visit(s001, sku="SKU-0002")
    task_claim(associate=alice)
    before = (slots(), Annotation.objects.count(), TaskExclusion.objects.count())

    for _ in range(3):
        assert browser(alice).get(preview_url(first.task)).status_code == 200

    assert (slots(), Annotation.objects.count(), TaskExclusion.objects.count()) == before
    assert Slot.objects.filter(holder=alice).count() == 1


def test_preview_is_what_the_submit_then_claims(s001, alice, queue):
    first = ingest_visit(s001)
    ingest_visit(s001, sku="SKU-0002")
    ingest_visit(s001, sku="SKU-0004")
    client = browser(alice)
    task_claim(associate=alice)
    previewed = client.get(preview_url(first.task)).content.decode()

    result = {"events": [{"event": e["id"], "verdict": "confirm"} for e in first.task.payload["events"]], "missed": []}
    submitted = client.post(
        reverse("annotator:submit", args=[first.task.pk]),
        json.dumps({"result": result, "submission_id": str(uuid.uuid4())}),
        content_type="application/json",
        HTTP_HX_REQUEST="true",
    )

    assert submitted.status_code == 200
    claimed = Slot.objects.get(holder=alice, state=Slot.State.OPEN).task_id
    assert f'data-task="{claimed}"' in previewed
    assert f'data-task="{claimed}"' in submitted.content.decode()


def test_nothing_to_preview_is_204(s001, alice, dave, queue):
    first = ingest_visit(s001)
    task_claim(associate=alice)
    client = browser(alice)
    assert client.get(preview_url(first.task)).status_code == 204

    # A task another associate holds is not offered either.
    ingest_visit(s001, sku="SKU-0002")
    task_claim(associate=dave)
    assert client.get(preview_url(first.task)).status_code == 204


def test_preview_follows_the_held_queue_first_then_any_queue(s001, alice, queue):
    first = ingest_visit(s001)
    task_claim(associate=alice)
    clip = clip_snippet(
        s001,
        "annotate-preview",
        annotate=True,
        predictions=[{"frame": 2, "label": "product", "sku": "SKU-0002", "box": [10, 20, 30, 40], "score": 0.8}],
        reuse_redaction=True,
    )
    snippet_task = clip.task
    snippet_task.slots.update(priority=100)  # more urgent than any visit, in another queue
    QueueMembership.objects.get_or_create(queue=snippet_task.queue, user=alice)
    second = ingest_visit(s001, sku="SKU-0002")
    client = browser(alice)

    assert f'data-task="{second.task.pk}"' in client.get(preview_url(first.task)).content.decode()

    # With the visit queue empty for alice, the snippet task: its screen without the clip.
    second.task.slots.update(state=Slot.State.CANCELLED)
    html = client.get(preview_url(first.task)).content.decode()
    assert f'data-task="{snippet_task.pk}"' in html
    assert 'id="wb-canvas" width=' in html
    assert "/media/" not in html
    assert str(clip.snippet.pk) not in html


def test_preview_is_refused_outside_the_held_task(s001, s002, alice, bob, carol, dave, queue):
    first = ingest_visit(s001)
    ingest_visit(s001, sku="SKU-0002")
    task_claim(associate=alice)
    url = preview_url(first.task)

    assert browser(bob).get(url).status_code == 404  # another store's associate
    assert browser(dave).get(url).status_code == 404  # a store-mate who does not hold it
    assert browser(carol).get(url).status_code == 404  # a supervisor who does not hold it
    assert Client().get(url).status_code == 302  # anonymous: to the login page
    assert browser(alice).post(url).status_code == 405
    assert browser(alice).get(reverse("annotator:task_preview", args=[uuid.uuid4()])).status_code == 404

    expire_leases(holder=alice)
    assert browser(alice).get(url).status_code == 404  # a lease that ran out


def test_preview_keeps_to_the_associates_own_queues(s001, s002, alice, bob, queue):
    first = ingest_visit(s001)
    task_claim(associate=alice)
    other_store = queue_for(store=s002, kind="visit_validation")
    QueueMembership.objects.get_or_create(queue=other_store, user=bob)
    ingest_visit(s002, candidate="SKU-0002")  # S002 sells SKU-0001..0003

    # S002's visit is waiting, but alice is granted S001 only: nothing to preview.
    assert browser(alice).get(preview_url(first.task)).status_code == 204
