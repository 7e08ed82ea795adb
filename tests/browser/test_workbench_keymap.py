"""One keymap for both task screens: the same key means the same on each (Space plays, `.`
steps a frame, `>` speeds up, Ctrl+Enter submits; Enter confirms an event and never submits
a clip), the help is drawn from it, work survives a reload, and the search ranks."""

import pytest
from playwright.sync_api import expect

from annotator.models import Annotation
from tests.browser.conftest import assert_clean
from tests.browser.workbench import (
    dress_catalog,
    ingest_clip,
    ingest_visit,
    join_queue,
    snippet_task_with_model_boxes,
    start_task,
    wait_for_task,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def visit_task(s001, alice):
    dress_catalog(s001)
    join_queue(s001, "visit_validation", alice)
    clip = ingest_clip(s001, "keys-clip")[0].snippet
    events = [
        {
            "sku": "SKU-0001",
            "confidence": 0.5,
            "snippet": clip.external_id,
            # Payload order is not score order: key 1 must be the best guess (SKU-0003).
            "candidates": [{"sku": "SKU-0002", "score": 0.1}, {"sku": "SKU-0003", "score": 0.6}],
        },
        {"sku": "SKU-0004", "confidence": 0.55, "snippet": clip.external_id},
    ]
    return ingest_visit(s001, events, external_id="v-keys").task


def clip_keys(page, video) -> None:
    """Space, `.`, `>` on the clip `video` (a locator) of whichever screen is shown."""
    handle = video.element_handle()
    page.wait_for_function("v => v.readyState >= 2", arg=handle)
    paused = page.evaluate("v => v.paused", handle)
    page.keyboard.press(" ")
    page.wait_for_function("([v, was]) => v.paused !== was", arg=[handle, paused])
    page.keyboard.press(".")  # a frame step pauses on the next frame
    page.wait_for_function("v => v.paused", arg=handle)
    page.keyboard.press(">")
    assert page.evaluate("v => v.playbackRate", handle) == 2
    page.keyboard.press("<")
    assert page.evaluate("v => v.playbackRate", handle) == 1


def help_lines(page) -> dict[str, str]:
    page.keyboard.press("?")
    expect(page.locator("#wb-help")).to_be_visible()
    lines = page.evaluate(
        """() => [...document.querySelectorAll('#wb-help-keys dt:not(.section)')]
                 .map((dt) => [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()])"""
    )
    page.keyboard.press("Escape")
    expect(page.locator("#wb-help")).to_be_hidden()
    return dict(lines)


def test_the_same_keys_mean_the_same_on_both_screens(page, s001, alice, visit_task):
    start_task(page, alice, visit_task)
    visit_help = help_lines(page)
    clip_keys(page, page.locator("#wb-items > li.ev.current video"))
    expect(page.locator("#wb-items > li.ev.current [data-act=speed][data-speed='1']")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.keyboard.press("1")  # the best guess, not the first listed
    expect(page.locator("#wb-items > li.ev.current [data-field=now]")).to_contain_text("SKU-0003")
    page.keyboard.press("Enter")  # confirms this event, then the next
    page.keyboard.press("Enter")
    expect(page.locator("#wb-items > li.ev.decided")).to_have_count(2)
    assert not Annotation.objects.exists()  # Enter never submits
    page.keyboard.press("Control+Enter")
    expect(page.locator("#wb-done")).to_be_visible()
    first = Annotation.objects.get(task=visit_task).result["events"][0]
    assert {key: first[key] for key in ("event", "verdict", "sku", "action", "quantity")} == {
        "event": first["event"],
        "verdict": "correct",
        "sku": "SKU-0003",
        "action": "take",
        "quantity": 1,
    }

    # The snippet screen, on a page of its own.
    snippet_task, _ = snippet_task_with_model_boxes(s001, alice, "keys-snippet")
    page.goto("/work/")
    page.keyboard.press("s")
    wait_for_task(page, snippet_task.pk)
    snippet_help = help_lines(page)
    clip_keys(page, page.locator("#workbench video.clip"))
    page.keyboard.press("t")
    page.keyboard.press("Enter")  # confirms nothing on a clip, and certainly does not submit
    page.wait_for_timeout(300)
    assert not Annotation.objects.filter(task=snippet_task).exists()
    page.keyboard.press("Control+Enter")
    expect(page.locator("#wb-done")).to_be_visible()
    assert Annotation.objects.get(task=snippet_task).result["action"] == "take"

    # One table behind both helps: every key both list means the same.
    shared = visit_help.keys() & snippet_help.keys()
    assert {"Space", ",", ".", "<", ">", "Ctrl+Enter", "s", "?", "/", "t", "p", "u", "1–9"} <= shared
    assert all(visit_help[key] == snippet_help[key] for key in shared)
    assert "Enter" in visit_help and "Enter" not in snippet_help
    assert "Ctrl+Enter" not in [k for k, v in visit_help.items() if "Confirm" in v]
    assert_clean(page)


def test_undo_and_redo_call_the_screens_own_and_skip_takes_two_keys(page, s001, alice, visit_task):
    start_task(page, alice, visit_task)
    assert help_lines(page)["Ctrl+z"] == "Undo"  # the screen has undo: offered
    page.evaluate(
        """() => { const s = window.LoupeWorkbench.screen; window.calls = [];
                   s.undo = () => calls.push("undo"); s.redo = () => calls.push("redo"); }"""
    )
    assert help_lines(page)["Ctrl+z"] == "Undo"
    for key in ["Control+z", "Control+Shift+Z", "Control+y"]:
        page.keyboard.press(key)
    assert page.evaluate("() => window.calls") == ["undo", "redo", "redo"]
    page.keyboard.press("s")
    expect(page.locator("#wb-release")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("#wb-done")).to_be_visible()
    assert_clean(page)


def test_work_survives_a_reload_and_is_gone_once_submitted(page, s001, alice, visit_task):
    start_task(page, alice, visit_task)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.keyboard.press("x")
    expect(page.locator("#wb-items > li.ev[data-verdict=rejected]")).to_have_count(1)

    asked: list[str] = []

    def answer(dialog):
        asked.append(dialog.type)
        dialog.accept()

    page.on("dialog", answer)
    page.reload()
    wait_for_task(page, visit_task.pk)
    assert asked == ["beforeunload"]  # work on screen: the browser asked first
    expect(page.locator("#wb-items > li.ev").nth(0)).to_have_attribute("data-verdict", "corrected")
    expect(page.locator("#wb-items > li.ev").nth(1)).to_have_attribute("data-verdict", "rejected")
    expect(page.locator("#wb-alert")).to_contain_text("back as you left it")

    page.keyboard.press("Control+Enter")
    expect(page.locator("#wb-done")).to_be_visible()
    verdicts = [e["verdict"] for e in Annotation.objects.get(task=visit_task).result["events"]]
    assert verdicts == ["correct", "reject"]
    assert page.evaluate("() => Object.keys(localStorage).filter((k) => k.startsWith('loupe:draft:'))") == []
    assert_clean(page)


def test_the_first_result_stays_highlighted_as_the_query_narrows(page, s001, alice, visit_task):
    """Results replace results as the associate types on: the first is highlighted each time
    (htmx's settle step once took the highlight off again, the options' ids being the same)."""
    start_task(page, alice, visit_task)
    page.keyboard.press("/")
    page.keyboard.type("SKU-000")
    expect(page.locator("#wb-search-results .pick.active")).to_have_count(1)
    assert page.locator("#wb-search-results .pick").count() > 1
    page.keyboard.type("3")
    expect(page.locator("#wb-search-results .pick")).to_have_count(1)
    page.wait_for_timeout(100)  # past htmx's settle (20 ms), where the highlight went
    expect(page.locator("#wb-search-results .pick.active")).to_have_attribute("data-sku", "SKU-0003")
    page.keyboard.press("Escape")
    assert_clean(page)


def test_the_search_ranks_words_in_any_order_and_spelt_differently(page, s001, alice, visit_task):
    start_task(page, alice, visit_task)
    for typed, first in [("milk whole", "SKU-0001"), ("yogurt", "SKU-0003"), ("milk", "SKU-0002")]:
        page.keyboard.press("/")
        expect(page.locator("#wb-search")).to_be_visible()
        page.keyboard.type(typed)
        # "milk": the two milks match; the model's candidate (SKU-0002) comes before the rest.
        expect(page.locator("#wb-search-results .pick.active")).to_have_attribute("data-sku", first)
        page.keyboard.press("Escape")
        expect(page.locator("#wb-search")).to_be_hidden()
    assert_clean(page)
