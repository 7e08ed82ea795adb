"""Review that reaches people, in a real browser: a supervisor reviews a visit validation
(clips, products by name, model vs associate) and rejects it with a comment; the associate
reads it on their work home and dismisses it; another associate claims the task and reads the
comment with it. And the console's confirm steps, by keyboard: nothing changes until confirmed."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from annotator.models import Rejection, Slot
from annotator.services.work import task_claim
from tests.browser.conftest import VIEWPORT, assert_clean, login, screenshot
from tests.browser.workbench import dress_catalog, ingest_clip, ingest_visit, join_queue, wait_for_task
from tests.validation.review import validate, verdicts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
COMMENT = "The first event never happened: watch the clip to the end."


def person(browser, live_server, user):
    """A page of its own (cookies and all) for one more person."""
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.problems = []
    page.base_url = live_server.url
    page.on("pageerror", lambda exc: page.problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: page.problems.append(msg.text) if msg.type == "error" else None)
    login(page, user)
    return page


@pytest.fixture
def validated(s001, alice, dave):
    """alice validated a visit with two clipped events (confirming everything)."""
    products = dress_catalog(s001)
    join_queue(s001, "visit_validation", alice, dave)
    clips = [ingest_clip(s001, f"clip-{n}")[0].snippet for n in range(2)]
    visit = ingest_visit(
        s001,
        [
            {"sku": "SKU-0001", "confidence": 0.55, "snippet": clips[0].external_id},
            {"sku": "SKU-0002", "confidence": 0.6, "snippet": clips[1].external_id},
        ],
        external_id="v-review",
    )
    annotation = validate(alice, visit.task, verdicts(visit.visit))
    return {"annotation": annotation, "task": visit.task, "products": {p.sku: p.name for p in products}}


def test_a_rejection_reaches_the_associate_and_the_next_one(page, browser, live_server, carol, alice, dave, validated):
    annotation, task, names = validated["annotation"], validated["task"], validated["products"]

    login(page, carol)
    page.goto(reverse("annotator:annotation", kwargs={"annotation_id": annotation.pk}))
    expect(page.locator("#review-events > li")).to_have_count(2)
    expect(page.locator("#review-events video")).to_have_count(2)
    expect(page.locator("#review-events").get_by_text(names["SKU-0001"]).first).to_be_visible()
    expect(page.locator("#review-cart-diff")).to_contain_text("The associate's cart is the model's.")
    screenshot(page, "review-visit")
    page.locator("#comment").focus()
    page.keyboard.type(COMMENT)
    page.keyboard.press("Tab")
    expect(page.locator("#reject")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#rejected-badge")).to_be_visible()
    expect(page.locator("#rejection")).to_contain_text(COMMENT)
    assert Rejection.objects.get().comment == COMMENT
    assert_clean(page)

    alice_page = person(browser, live_server, alice)
    alice_page.goto("/work/")
    notice = alice_page.locator("#rejections > li")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text(COMMENT)
    expect(notice).to_contain_text("Visit validation")
    expect(notice).to_contain_text("back in its queue")
    screenshot(alice_page, "review-work-home")
    alice_page.get_by_role("button", name="Got it").click()
    expect(alice_page.locator("#rejections > li")).to_have_count(0)
    alice_page.reload()
    expect(alice_page.locator("#rejections-region")).to_have_count(0)
    assert not alice_page.problems, alice_page.problems

    dave_page = person(browser, live_server, dave)
    dave_page.goto("/work/")
    dave_page.keyboard.press("s")
    dave_page.wait_for_selector("#workbench[data-kind=visit_validation]")
    wait_for_task(dave_page, task.pk)
    expect(dave_page.locator("#wb-rejection")).to_contain_text(COMMENT)
    screenshot(dave_page, "review-next-associate")
    assert not dave_page.problems, dave_page.problems


def test_releasing_a_live_lease_asks_first_by_keyboard(page, carol, alice, validated, s001):
    ingest_visit(s001, [{"sku": "SKU-0003", "confidence": 0.5}], external_id="v-held")
    lease = task_claim(associate=alice)
    login(page, carol)
    page.goto("/supervise/")

    page.locator(f"#release-{lease.slot_id}").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#consequences")).to_contain_text("alice is working on")
    expect(page.locator("#consequences")).to_contain_text("will be lost")
    expect(page.locator("#confirm-no")).to_be_focused()
    page.keyboard.press("Enter")  # Cancel
    page.wait_for_url("**/supervise/")
    assert Slot.objects.get(pk=lease.slot_id).holder == alice

    page.locator(f"#release-{lease.slot_id}").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#confirm-no")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#confirm-yes")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**/supervise/")
    assert Slot.objects.get(pk=lease.slot_id).holder is None
    assert_clean(page)
