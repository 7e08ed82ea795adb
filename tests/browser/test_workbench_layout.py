"""Both task screens fit the window: at 1366x768 and at 800x600 the player, the controls that
matter and Submit are inside the viewport without scrolling."""

import pytest

from tests.browser.conftest import assert_clean, login, screenshot
from tests.browser.workbench import (
    dress_catalog,
    ingest_clip,
    ingest_visit,
    join_queue,
    player_shown,
    snippet_task_with_model_boxes,
    wait_for_task,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = [(1366, 768), (800, 600)]
ON_TOP = """el => {
  const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
  return !!hit && (el === hit || el.contains(hit));
}"""


def assert_in_view(page, selectors: list[str]) -> None:
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    assert page.evaluate("() => [window.scrollX, window.scrollY]") == [0, 0]
    for selector in selectors:
        box = page.locator(selector).first.bounding_box()
        assert box is not None, f"{selector} is not shown"
        inside = (
            box["x"] >= 0
            and box["y"] >= 0
            and box["x"] + box["width"] <= width + 0.5
            and box["y"] + box["height"] <= height + 0.5
        )
        assert inside, f"{selector} at {box} is outside {width}x{height}"
        # Not hidden under something else or clipped by a scrolling box either.
        on_top = page.locator(selector).first.evaluate(ON_TOP)
        assert on_top, f"{selector} is covered or scrolled out of its box"


def open_task(page, user, task, size) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    login(page, user)
    page.goto("/work/")
    page.keyboard.press("s")
    wait_for_task(page, task.pk)
    page.wait_for_timeout(300)  # the current event opens and scrolls into view


@pytest.mark.parametrize("size", SIZES, ids=["1366x768", "800x600"])
def test_the_visit_screen_fits(page, s001, alice, size):
    dress_catalog(s001)
    join_queue(s001, "visit_validation", alice)
    clip = ingest_clip(s001, "fit-clip")[0].snippet
    events = [
        {
            "sku": f"SKU-000{n}",
            "confidence": 0.5,
            "snippet": clip.external_id,
            "candidates": [{"sku": "SKU-0009", "score": 0.3}],
        }
        for n in range(1, 5)
    ]
    task = ingest_visit(s001, events, external_id="v-fit").task
    open_task(page, alice, task, size)
    current = "#wb-items > li.ev.current"
    screenshot(page, f"layout-visit-{size[0]}x{size[1]}")
    assert_in_view(
        page,
        [
            f"{current} video",
            f"{current} [data-act=play]",
            f"{current} [data-act=confirm]",
            f"{current} [data-act=reject]",
            f"{current} button.cand",
            "#wb-submit",
        ],
    )
    page.keyboard.press("Enter")  # the next event comes into view with its controls
    page.wait_for_timeout(300)
    assert_in_view(page, [f"{current} video", f"{current} [data-act=confirm]", "#wb-submit"])
    assert_clean(page)


@pytest.mark.parametrize("size", SIZES, ids=["1366x768", "800x600"])
def test_the_snippet_screen_fits(page, s001, alice, size):
    task, _ = snippet_task_with_model_boxes(s001, alice, "fit-snippet")
    open_task(page, alice, task, size)
    player_shown(page)
    screenshot(page, f"layout-snippet-{size[0]}x{size[1]}")
    assert_in_view(
        page,
        [
            "#wb-player",
            "[data-act=play]",
            "[data-act=step][data-dir='1']",
            "#wb-actions",
            "#wb-product",
            "button.cand",
            "[data-act=search]",
            "#wb-submit",
        ],
    )
    assert_clean(page)
