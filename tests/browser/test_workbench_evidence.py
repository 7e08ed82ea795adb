"""Evidence measured on the visit screen in a real browser: the event the associate watched is
stored checked, the confident ones left closed unchecked, and calibration moves only for the
checked one. `u` (can't tell) sends the visit to someone else."""

import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotator.models import Annotation, Label, Task
from catalog.models import Store
from tests.browser.conftest import assert_clean, login
from tests.browser.workbench import dress_catalog, ingest_clip, ingest_visit, join_queue, wait_for_task
from validation import calibration
from validation.models import Receipt
from validation.services import routing

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def visit_task(s001, alice, dave):
    """One low event with a clip, two confident events with clips."""
    dress_catalog(s001)
    join_queue(s001, "visit_validation", alice, dave)
    clips = [ingest_clip(s001, f"clip-{n}")[0].snippet for n in range(3)]
    events = [
        {"sku": "SKU-0001", "confidence": 0.45, "snippet": clips[0].external_id},
        {"sku": "SKU-0002", "confidence": 0.96, "snippet": clips[1].external_id},
        {"sku": "SKU-0003", "confidence": 0.98, "snippet": clips[2].external_id},
    ]
    return ingest_visit(s001, events, external_id="v-evidence", exited_minutes_ago=2).task


def start(page, user, task):
    login(page, user)
    page.goto("/work/")
    page.keyboard.press("s")
    page.wait_for_selector("#workbench[data-kind=visit_validation]")
    wait_for_task(page, task.pk)


def buckets(store) -> list[int]:
    since = timezone.now() - dt.timedelta(days=30)
    observed = calibration.observations(stores=Store.objects.filter(pk=store.pk), since=since)
    return [bucket.n for bucket in calibration.reliability(observed)["all"]]


def test_a_watched_low_event_is_checked_and_closed_confident_ones_are_not(page, s001, alice, visit_task):
    before = buckets(s001)
    start(page, alice, visit_task)
    expect(page.locator("#wb-items > li.ev.current")).to_have_attribute("data-sku", "SKU-0001")
    expect(page.locator("#wb-items > li.ev:not(.low) .ev-body")).to_have_count(2)
    expect(page.locator("#wb-items > li.ev:not(.low) .ev-body").first).to_be_hidden()
    # Watch the low event's clip for a while (it plays on its own when current).
    page.wait_for_function("() => { const v = document.querySelector('li.ev.current video'); return v && !v.paused; }")
    page.wait_for_timeout(1500)
    page.keyboard.press(".")  # and step one frame
    page.keyboard.press("Enter")
    page.keyboard.press("Control+Enter")
    page.wait_for_function(f"() => !document.querySelector('#workbench[data-task=\"{visit_task.pk}\"]')")

    annotation = Annotation.objects.get(task=visit_task)
    evidence = [item["evidence"] for item in annotation.result["events"]]
    assert evidence[0]["opened"] is True
    assert evidence[0]["watched_ms"] >= 500
    assert evidence[0]["frames_viewed"] == 1
    assert evidence[1] == evidence[2] == {"opened": False, "watched_ms": 0, "frames_viewed": 0}
    labels = Label.objects.filter(task=visit_task).order_by("seq")
    assert [(label.verdict, label.checked) for label in labels] == [
        ("confirm", True),
        ("confirm", False),
        ("confirm", False),
    ]
    after = buckets(s001)
    moved = [index for index, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert moved == [4] and after[4] - before[4] == 1  # the 0.45 event, and nothing in 0.9–1.0
    assert_clean(page)


def test_u_marks_an_event_cant_tell_and_the_visit_goes_to_someone_else(page, s001, alice, dave, visit_task):
    start(page, alice, visit_task)
    expect(page.locator("#wb-items > li.ev.current [data-act=unsure]")).to_be_visible()
    page.keyboard.press("u")
    expect(page.locator("#wb-items > li.ev").first).to_have_attribute("data-verdict", "unsure")
    page.keyboard.press("Control+Enter")
    page.wait_for_function(f"() => !document.querySelector('#workbench[data-task=\"{visit_task.pk}\"]')")

    annotation = Annotation.objects.get(task=visit_task)
    assert [item["verdict"] for item in annotation.result["events"]] == ["unsure", "confirm", "confirm"]
    task = Task.objects.get(pk=visit_task.pk)
    assert task.status == "open" and len(task.payload["earlier"]) == 1
    assert not Receipt.objects.filter(visit_id=task.subject_id).exists()
    assert not Label.objects.filter(task=task).exists()
    assert_clean(page)

    # The next associate sees what was said.
    page.context.clear_cookies()
    start(page, dave, visit_task)
    expect(page.locator("#wb-earlier-note")).to_be_visible()
    expect(page.locator("#wb-items > li.ev").first.locator("[data-field=earlier]")).to_contain_text("can't tell")


def test_an_audit_walks_every_event_and_says_what_to_verify(page, s001, alice, dave):
    dress_catalog(s001)
    join_queue(s001, "visit_validation", alice, dave)
    clip = ingest_clip(s001, "clip-audit")[0].snippet
    body = {"confidence": 0.99, "snippet": clip.external_id}
    events = [{"sku": "SKU-0001", **body}, {"sku": "SKU-0002", **body}]
    with mock.patch.object(routing.audit_rng, "random", return_value=0.0):
        task = ingest_visit(s001, events, external_id="v-audit", exited_minutes_ago=2).task
    assert task is not None and task.purpose == "audit"
    start(page, alice, task)
    expect(page.locator("#wb-audit-note")).to_contain_text("Open every event")
    # Every event waits for a look, confident or not: a submit right away is stopped.
    page.keyboard.press("Control+Enter")
    expect(page.locator("#wb-items > li.ev.current")).to_have_attribute("data-sku", "SKU-0001")
    assert not Annotation.objects.filter(task=task).exists()
    page.keyboard.press("Enter")
    expect(page.locator("#wb-items > li.ev.current")).to_have_attribute("data-sku", "SKU-0002")
    page.keyboard.press("Enter")
    page.keyboard.press("Control+Enter")
    page.wait_for_function(f"() => !document.querySelector('#workbench[data-task=\"{task.pk}\"]')")
    labels = Label.objects.filter(task=task)
    assert [label.checked for label in labels] == [True, True]
