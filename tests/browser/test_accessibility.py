"""axe-core (vendored: tests/browser/vendor/axe-core-<version>/, MPL-2.0) on every page an
associate or a supervisor works on: no serious or critical violation (contrast of text and
focus, names of buttons, nested controls, reachable scroll regions, …)."""

from pathlib import Path

import pytest
from django.urls import reverse

from tests.browser.conftest import assert_clean, login
from tests.browser.workbench import (
    dress_catalog,
    ingest_clip,
    ingest_visit,
    join_queue,
    snippet_task_with_model_boxes,
    wait_for_task,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
AXE = next((Path(__file__).parent / "vendor").glob("axe-core-*/axe.min.js"))
BLOCKING = ("serious", "critical")


def violations(page) -> list[str]:
    # Through the DevTools protocol, not a <script> tag: the CSP allows only Loupe's own scripts.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text() + "\n;0")
    found = page.evaluate(
        """async () => {
          const result = await axe.run(document, { resultTypes: ["violations"] });
          return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ") + " :: " + n.failureSummary) }));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']}\n  " + "\n  ".join(v["nodes"])
        for v in found
        if v["impact"] in BLOCKING
    ]


def check(page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    problems = violations(page)
    assert not problems, f"{name}:\n" + "\n".join(problems)


def test_sign_in_page(page):
    page.goto(reverse("login"))
    check(page, "sign in")


def test_work_home_and_the_visit_screen(page, s001, alice):
    dress_catalog(s001)
    join_queue(s001, "visit_validation", alice)
    clip = ingest_clip(s001, "axe-clip")[0].snippet
    events = [
        {
            "sku": "SKU-0001",
            "confidence": 0.5,
            "snippet": clip.external_id,
            "candidates": [{"sku": "SKU-0002", "score": 0.3}],
        },
        {"sku": "SKU-0003", "confidence": 0.97},
    ]
    task = ingest_visit(s001, events, external_id="v-axe", exited_minutes_ago=10).task
    login(page, alice)
    page.goto(reverse("annotator:work"))
    check(page, "work home")
    page.keyboard.press("s")
    wait_for_task(page, task.pk)
    check(page, "visit screen")
    page.keyboard.press("?")
    check(page, "visit screen, help open")
    assert_clean(page)


def test_the_snippet_screen(page, s001, alice):
    task, _ = snippet_task_with_model_boxes(s001, alice, "axe-snippet")
    login(page, alice)
    page.goto(reverse("annotator:work"))
    page.keyboard.press("s")
    wait_for_task(page, task.pk)
    check(page, "snippet screen")
    page.keyboard.press("/")
    check(page, "snippet screen, search open")
    page.keyboard.type("milk")
    page.wait_for_selector("#wb-search-results .pick")
    check(page, "snippet screen, search results")
    assert_clean(page)


def test_supervisor_pages(page, s001, alice, carol):
    dress_catalog(s001)
    queue = join_queue(s001, "visit_validation", alice)
    ingest_visit(s001, [{"sku": "SKU-0001", "confidence": 0.5}], external_id="v-axe-sup")
    login(page, carol)
    for name, url in [
        ("home", reverse("home")),
        ("supervisor console", reverse("annotator:supervise")),
        ("queue page", reverse("annotator:supervise_queue", args=[queue.pk])),
        ("associates", reverse("annotator:associates")),
        ("calibration", reverse("validation:calibration")),
        ("datasets", reverse("annotator:datasets")),
        ("deliveries", reverse("validation:deliveries")),
    ]:
        page.goto(url)
        check(page, name)
    assert_clean(page)
