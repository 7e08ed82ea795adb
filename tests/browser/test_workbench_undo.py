"""Undo and redo on the visit screen in a real browser: every verdict change (confirm,
reject, a corrected product or quantity, a missed item added or taken back) steps back and
forward with Ctrl+Z / Ctrl+Shift+Z, and the submit sends what is left."""

import pytest
from playwright.sync_api import expect

from annotator.models import Annotation
from tests.browser.conftest import assert_clean, login
from tests.browser.workbench import dress_catalog, ingest_clip, ingest_visit, join_queue, wait_for_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def visit_task(s001, alice):
    dress_catalog(s001)
    join_queue(s001, "visit_validation", alice)
    clip = ingest_clip(s001, "undo-clip")[0].snippet
    events = [
        {
            "sku": "SKU-0001",
            "confidence": 0.6,
            "snippet": clip.external_id,
            "candidates": [{"sku": "SKU-0002", "score": 0.3}],
        },
        {"sku": "SKU-0004", "confidence": 0.5, "candidates": [{"sku": "SKU-0005", "score": 0.3}]},
    ]
    return ingest_visit(s001, events, external_id="v-undo").task


def verdicts(page) -> list[str]:
    return page.locator("#wb-items > li.ev").evaluate_all("els => els.map((el) => el.dataset.verdict)")


def test_every_verdict_change_is_undone_and_redone(page, alice, visit_task):
    login(page, alice)
    page.goto("/work/")
    page.keyboard.press("s")
    wait_for_task(page, visit_task.pk)
    assert verdicts(page) == ["to-check", "to-check"]

    page.keyboard.press("1")  # event 1: the model's second guess
    page.keyboard.press("Enter")  # confirmed as corrected
    page.keyboard.press("x")  # event 2 did not happen
    assert verdicts(page) == ["corrected", "rejected"]
    page.keyboard.press("m")
    page.keyboard.type("SKU-0012")
    expect(page.locator("#wb-search-results .pick.active")).to_have_attribute("data-sku", "SKU-0012")
    page.keyboard.press("Enter")
    page.keyboard.press("+")
    expect(page.locator("#wb-missed-list li [data-field=qty]")).to_have_text("2")

    page.keyboard.press("Control+z")  # the quantity
    expect(page.locator("#wb-missed-list li [data-field=qty]")).to_have_text("1")
    page.keyboard.press("Control+z")  # the missed item
    expect(page.locator("#wb-missed-list li")).to_have_count(0)
    page.keyboard.press("Control+z")  # the reject
    assert verdicts(page) == ["corrected", "to-check"]
    page.keyboard.press("Control+z")  # the confirm
    page.keyboard.press("Control+z")  # the product picked
    assert verdicts(page) == ["to-check", "to-check"]
    expect(page.locator("#wb-items > li.ev.current")).to_have_attribute("data-sku", "SKU-0001")

    for _ in range(4):
        page.keyboard.press("Control+Shift+z")
    assert verdicts(page) == ["corrected", "rejected"]
    expect(page.locator("#wb-missed-list li [data-field=qty]")).to_have_text("1")
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+Shift+z")
    page.keyboard.press("Control+Shift+z")
    expect(page.locator("#wb-missed-list li [data-field=qty]")).to_have_text("2")

    page.keyboard.press("Control+Enter")
    expect(page.locator("#wb-done")).to_be_visible()
    result = Annotation.objects.get(task=visit_task).result
    assert [e["verdict"] for e in result["events"]] == ["correct", "reject"]
    assert result["events"][0]["sku"] == "SKU-0002"
    assert [(m["sku"], m["quantity"]) for m in result["missed"]] == [("SKU-0012", 2)]
    assert_clean(page)
