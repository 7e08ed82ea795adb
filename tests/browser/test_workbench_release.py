"""Skipping a task on the workbench: the Skip dialog by keyboard, the next task at once, and
in the database an exclusion with the reason, so the task goes back to the queue for others
but is never offered again to the associate who skipped it."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from annotator.models import Annotation, Slot, TaskExclusion
from annotator.services.work import task_claim
from tests.browser.conftest import assert_clean
from tests.browser.workbench import dress_catalog, ingest_visit, join_queue, start_task, wait_for_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REASONS = ["Video does not play or is unclear", "Product not in the catalog", "Not sure what happened", "Other"]


@pytest.fixture
def tasks(s001, alice, dave):
    """Two visits to validate, the older (more urgent) first; one unsure event each, no clip."""
    dress_catalog(s001)
    join_queue(s001, "visit_validation", alice, dave)
    events = [{"sku": "SKU-0001", "confidence": 0.5, "candidates": [{"sku": "SKU-0002", "score": 0.3}]}]
    first = ingest_visit(s001, events, external_id="v-skipped", exited_minutes_ago=12)
    second = ingest_visit(s001, events, external_id="v-next", exited_minutes_ago=4)
    return first.task, second.task


def open_skip_dialog(page) -> None:
    page.get_by_role("button", name="Skip…").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#wb-release")).to_be_visible()
    expect(page.locator("#wb-release-reason")).to_be_focused()


def test_a_skipped_task_is_never_offered_again_to_its_associate_but_is_to_others(page, alice, dave, tasks):
    skipped, following = tasks
    start_task(page, alice, skipped)

    open_skip_dialog(page)
    page.keyboard.press("ArrowDown")  # the second reason
    expect(page.locator("#wb-release-reason")).to_have_value(REASONS[1])
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Skip task")).to_be_focused()
    page.keyboard.press("Enter")

    wait_for_task(page, following.pk)
    expect(page.locator("#wb-release")).to_be_hidden()
    expect(page.locator("#wb-notice")).to_have_text("Task skipped.")
    expect(page).to_have_url(reverse("annotator:task", args=[following.pk]))
    exclusion = TaskExclusion.objects.get(task=skipped)
    assert (exclusion.user, exclusion.cause, exclusion.reason) == (alice, TaskExclusion.Cause.RELEASED, REASONS[1])
    assert not Slot.objects.filter(task=skipped, holder__isnull=False).exists()

    # Alice works on until her queue is empty: the skipped task does not come back.
    page.keyboard.press("Enter")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#wb-done")).to_be_visible()
    expect(page.locator("#wb-done")).to_contain_text("Nothing left for you")
    assert Annotation.objects.filter(task=following, associate=alice).exists()
    assert task_claim(associate=alice) is None
    page.goto("/work/")
    page.keyboard.press("s")
    expect(page.locator("body")).to_contain_text("Nothing is waiting for you")

    # Anyone else still gets it.
    lease = task_claim(associate=dave)
    assert lease is not None and lease.task.pk == skipped.pk
    assert not Annotation.objects.filter(task=skipped).exists()
    assert_clean(page)


def test_cancelling_the_skip_dialog_keeps_the_task(page, alice, tasks):
    """The dialog always has a reason (a list with the first chosen, no empty choice);
    Escape or Cancel leave the task as it was, and a later skip still works."""
    skipped, following = tasks
    start_task(page, alice, skipped)

    open_skip_dialog(page)
    options = page.locator("#wb-release-reason option")
    expect(options).to_have_text(REASONS)
    expect(page.locator("#wb-release-reason")).to_have_value(REASONS[0])
    page.keyboard.press("Escape")
    expect(page.locator("#wb-release")).to_be_hidden()

    open_skip_dialog(page)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#wb-release")).to_be_hidden()

    page.wait_for_timeout(300)  # a skip would be on its way by now
    assert document_task(page) == str(skipped.pk)
    assert not TaskExclusion.objects.exists()
    assert Slot.objects.filter(task=skipped, holder=alice).exists()

    open_skip_dialog(page)
    page.get_by_role("button", name="Skip task").click()  # the reason left as it was
    wait_for_task(page, following.pk)
    assert TaskExclusion.objects.get(task=skipped, user=alice).reason == REASONS[0]
    assert TaskExclusion.objects.count() == 1  # one skip, though the dialog was opened three times
    assert_clean(page)


def document_task(page) -> str:
    return page.evaluate("() => document.documentElement.dataset.workbenchTask")
