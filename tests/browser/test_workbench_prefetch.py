"""The next task on screen the moment the associate submits: the workbench prefetches a
preview of the likely next task and shows it while the submit is in flight, then the real
screen the submit claimed. The submit is held in the browser (`page.route`), so "before the
server answered" is not a matter of timing."""

import re
import time

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from annotator.models import Annotation, Slot
from annotator.services.work import task_claim
from tests.browser.conftest import assert_clean, screenshot
from tests.browser.workbench import dress_catalog, ingest_clip, ingest_visit, join_queue, start_task, wait_for_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOLD_S = 1.5


@pytest.fixture
def tasks(s001, alice, dave):
    """Three pending visits, most urgent first, each with two unsure events (with clips) of its
    own product and a sure one."""
    dress_catalog(s001)
    join_queue(s001, "visit_validation", alice, dave)
    clips = [ingest_clip(s001, f"clip-{n}")[0].snippet for n in range(2)]
    visits = []
    for n, sku in enumerate(["SKU-0001", "SKU-0004", "SKU-0007"]):
        events = [
            {
                "sku": sku,
                "confidence": 0.6,
                "snippet": clips[0].external_id,
                "candidates": [{"sku": "SKU-0010", "score": 0.2}],
            },
            {"sku": sku, "confidence": 0.5, "snippet": clips[1].external_id},
            {"sku": "SKU-0012", "confidence": 0.97},
        ]
        visits.append(ingest_visit(s001, events, external_id=f"v-{n}", exited_minutes_ago=12 - 4 * n))
    return [visit.task for visit in visits]


def wait_for_preview(page, task) -> None:
    page.wait_for_function("id => window.LoupeWorkbench.preview === id", arg=str(task.pk), timeout=10_000)


def hold_submit(page, task) -> list:
    """Hold the submit of `task` in the browser; the test continues (or answers) it."""
    held: list = []
    page.route(f"**{reverse('annotator:submit', args=[task.pk])}", lambda route: held.append(route))
    return held


def confirm_and_submit(page) -> float:
    for _ in range(2):
        page.keyboard.press("Enter")
    expect(page.locator("#wb-submit.ready")).to_have_count(1)
    pressed = time.monotonic()
    page.keyboard.press("Control+Enter")
    return pressed


def test_the_next_visit_shows_at_once_and_the_real_screen_replaces_it(page, alice, tasks):
    first, second, _ = tasks
    start_task(page, alice, first)
    wait_for_preview(page, second)
    held = hold_submit(page, first)

    pressed = confirm_and_submit(page)

    preview = page.locator(f'#workbench[data-preview][data-task="{second.pk}"]')
    expect(preview).to_be_visible(timeout=500)
    shown_after = time.monotonic() - pressed
    expect(preview.locator("#wb-items > li.ev")).to_have_count(3)
    expect(preview.locator("#wb-items > li.ev").first).to_have_attribute("data-sku", "SKU-0004")
    expect(preview.locator(".wb-loading").first).to_have_text("loading…")
    expect(preview.locator("video")).to_have_count(0)
    expect(preview.locator("#wb-lease")).to_have_text("claiming…")
    expect(preview.locator("#wb-total-predicted")).to_have_text(re.compile(r"^€\d+\.\d\d$"))  # money, not cents
    screenshot(page, "workbench-visit-preview")
    page.keyboard.press("Enter")  # queued: applied to this task once its real screen is mounted
    assert len(held) == 1, "the submit left the browser"
    assert not Annotation.objects.filter(task=first).exists()  # the server has not seen it yet
    assert shown_after < HOLD_S / 3

    page.wait_for_timeout(max(0, (HOLD_S - (time.monotonic() - pressed)) * 1000))
    held[0].continue_()

    wait_for_task(page, second.pk)
    real = page.locator(f'#workbench:not([data-preview])[data-task="{second.pk}"]')
    expect(real).to_be_visible()
    expect(real.locator("#wb-items > li.ev.low video.clip")).to_have_count(2)
    expect(real.locator("#wb-items > li.ev.current")).to_be_focused()
    expect(real.locator("#wb-lease")).to_have_text("held")
    expect(real.locator("li.ev.decided")).to_have_count(1)  # the Enter typed on its preview
    page.keyboard.press("Enter")
    expect(real.locator("li.ev.decided")).to_have_count(2)

    annotation = Annotation.objects.get(task=first, associate=alice)
    assert [e["verdict"] for e in annotation.result["events"]] == ["confirm"] * 3
    held_by_alice = Slot.objects.filter(holder=alice, state=Slot.State.OPEN)
    assert [slot.task_id for slot in held_by_alice] == [second.pk]  # one lease, never two
    assert_clean(page)


def test_a_previewed_task_someone_else_took_gives_way_to_the_real_one(page, alice, dave, tasks):
    first, second, third = tasks
    start_task(page, alice, first)
    wait_for_preview(page, second)
    assert task_claim(associate=dave).task.pk == second.pk  # dave takes it meanwhile
    held = hold_submit(page, first)

    confirm_and_submit(page)

    expect(page.locator(f'#workbench[data-preview][data-task="{second.pk}"]')).to_be_visible(timeout=500)
    page.wait_for_timeout(HOLD_S * 1000)
    held[0].continue_()

    wait_for_task(page, third.pk)
    real = page.locator(f'#workbench:not([data-preview])[data-task="{third.pk}"]')
    expect(real).to_be_visible()
    expect(real.locator("#wb-items > li.ev").first).to_have_attribute("data-sku", "SKU-0007")
    expect(real.locator("#wb-items > li.ev.low video.clip")).to_have_count(2)
    expect(page).to_have_url(reverse("annotator:task", args=[third.pk]))
    assert Annotation.objects.filter(task=first, associate=alice).exists()
    assert Slot.objects.get(task=second).holder == dave
    assert [s.task_id for s in Slot.objects.filter(holder=alice, state=Slot.State.OPEN)] == [third.pk]
    assert_clean(page)


def test_a_refused_submit_brings_the_work_back_with_the_error(page, alice, tasks):
    first, second, _ = tasks
    start_task(page, alice, first)
    wait_for_preview(page, second)
    held = hold_submit(page, first)
    page.keyboard.press("1")  # the first event: the model's other guess
    confirm_and_submit(page)
    expect(page.locator("#workbench[data-preview]")).to_be_visible(timeout=500)

    held[0].fulfill(
        status=400,
        json={"error": {"code": "invalid", "detail": "Something does not fit.", "field": "events[0].sku"}},
    )

    back = page.locator(f'#workbench:not([data-preview])[data-task="{first.pk}"]')
    expect(back).to_be_visible()
    expect(page.locator("#workbench[data-preview]")).to_have_count(0)
    expect(page.locator("#wb-alert")).to_have_text("Not saved: Something does not fit. (events[0].sku)")
    expect(back.locator("li.ev.decided")).to_have_count(2)
    expect(back.locator("#wb-items > li.ev").first).to_have_attribute("data-verdict", "corrected")
    assert not Annotation.objects.filter(task=first).exists()

    # The network fails: the same, with today's message.
    page.unroute(f"**{reverse('annotator:submit', args=[first.pk])}")
    page.route(f"**{reverse('annotator:submit', args=[first.pk])}", lambda route: route.abort())
    page.keyboard.press("Control+Enter")
    expect(page.locator("#wb-alert")).to_contain_text("the server could not be reached")
    expect(back).to_be_visible()
    expect(back.locator("li.ev.decided")).to_have_count(2)

    # Then it goes through, with the correction.
    page.unroute(f"**{reverse('annotator:submit', args=[first.pk])}")
    page.keyboard.press("Control+Enter")
    wait_for_task(page, second.pk)
    events = Annotation.objects.get(task=first).result["events"]
    assert events[0]["verdict"] == "correct"
    assert events[0]["sku"] == "SKU-0010"
    page.problems[:] = [p for p in page.problems if "status of 400" not in p and "ERR_FAILED" not in p]
    assert_clean(page)
