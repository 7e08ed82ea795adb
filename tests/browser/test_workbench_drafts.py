"""Drafts: the snippet screen's boxes, action and product survive a reload, and a lease a supervisor
releases while work is on screen leaves that work visible as context until the associate
moves on."""

import pytest
from playwright.sync_api import expect

from annotator.models import Annotation, Slot
from annotator.services.control import lease_release
from tests.browser.conftest import assert_clean
from tests.browser.workbench import (
    dress_catalog,
    ingest_visit,
    join_queue,
    snippet_task_with_model_boxes,
    start_task,
    wait_for_task,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_snippet_screen_keeps_its_boxes_action_and_product_across_a_reload(page, s001, alice):
    task, _ = snippet_task_with_model_boxes(s001, alice, "draft-snippet")
    start_task(page, alice, task)
    boxes = page.locator("#wb-box-list li")
    expect(boxes).not_to_have_count(0)
    before = boxes.count()
    page.keyboard.press("a")  # a box of its own, in the middle of the frame
    expect(boxes).to_have_count(before + 1)
    page.keyboard.press("Escape")
    page.keyboard.press("p")
    page.keyboard.press("/")
    page.keyboard.type("SKU-0007")
    expect(page.locator("#wb-search-results .pick.active")).to_have_attribute("data-sku", "SKU-0007")
    page.keyboard.press("Enter")
    expect(page.locator("#wb-product")).to_have_attribute("data-sku", "SKU-0007")
    page.on("dialog", lambda dialog: dialog.accept())
    page.reload()
    wait_for_task(page, task.pk)
    expect(page.locator("#wb-product")).to_have_attribute("data-sku", "SKU-0007")
    expect(page.locator("[data-act=set-action][data-value=put_back]")).to_have_attribute("aria-pressed", "true")
    expect(boxes).to_have_count(before + 1)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#wb-done")).to_be_visible()
    result = Annotation.objects.get(task=task).result
    assert (result["action"], result["sku"]) == ("put_back", "SKU-0007")
    assert_clean(page)


def test_a_lease_released_by_a_supervisor_leaves_the_work_on_screen(page, s001, alice, carol):
    dress_catalog(s001)
    join_queue(s001, "visit_validation", alice)
    events = [{"sku": "SKU-0001", "confidence": 0.5, "candidates": [{"sku": "SKU-0002", "score": 0.4}]}]
    task = ingest_visit(s001, events, external_id="v-released").task
    start_task(page, alice, task)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#wb-items > li.ev").first).to_have_attribute("data-verdict", "corrected")

    lease_release(supervisor=carol, slot_id=Slot.objects.get(task=task, holder=alice).pk)
    page.evaluate("window.LoupeWorkbench.heartbeat()")
    expect(page.locator("#wb-alert")).to_contain_text("your work stays here for reference")
    expect(page.locator("#wb-lease")).to_have_text("lost")
    expect(page.locator("#wb-items > li.ev").first).to_have_attribute("data-verdict", "corrected")
    page.keyboard.press("x")  # keys no longer act on a task that is not held
    expect(page.locator("#wb-items > li.ev").first).to_have_attribute("data-verdict", "corrected")
    next_task = page.get_by_role("button", name="Go to my next task")
    expect(next_task).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#wb-notice")).to_contain_text("You lost the previous task")
    assert not Annotation.objects.filter(task=task).exists()
    assert page.evaluate("() => Object.keys(localStorage).filter((k) => k.startsWith('loupe:draft:'))") == []
    # The heartbeat's 409 and the lost task's media are refused by design.
    page.problems[:] = [p for p in page.problems if "status of 409" not in p and "status of 404" not in p]
    assert_clean(page)
