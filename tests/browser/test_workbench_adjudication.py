"""The adjudication screen in a real browser: three associates disagreed on a snippet; the
supervisor sees the three answers side by side, each one's boxes drawn over the frames in its
own colour, and answers with a normal snippet result, which becomes the label."""

import uuid

import pytest
from playwright.sync_api import expect

from annotator.models import Label, Task
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from catalog import roles
from tests.browser.conftest import assert_clean, screenshot
from tests.browser.test_accessibility import violations
from tests.browser.workbench import dress_catalog, ingest_clip, join_queue, open_snippet
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def hand(x: int, frame: int) -> dict:
    return {"frame": frame, "label": "hand", "x": x, "y": 40, "w": 60, "h": 60}


@pytest.fixture
def adjudication(s001, alice, dave, carol):
    s001.snippet_overlap = 3
    s001.save(update_fields=["snippet_overlap"])
    eve = UserFactory(username="eve", role=roles.ASSOCIATE, stores=[s001])
    dress_catalog(s001)
    join_queue(s001, "snippet_annotation", alice, dave, eve)
    result, _ = ingest_clip(s001, "disputed", annotate=True)
    for associate, sku, x in ((alice, "SKU-0001", 20), (dave, "SKU-0002", 120), (eve, "SKU-0003", 220)):
        lease = task_claim(associate=associate)
        body = {"action": "take", "sku": sku, "boxes": [hand(x, 0), hand(x, 2)]}
        task_submit(associate=associate, task_id=lease.task.pk, result=body, submission_id=uuid.uuid4())
    return Task.objects.get(adjudicates=result.task)


def test_the_supervisor_sees_the_three_answers_and_decides(page, carol, adjudication):
    open_snippet(page, carol, adjudication)

    card = page.locator("#wb-answers-card")
    expect(card).to_contain_text("3 answers disagree")
    expect(card.locator("li[data-answer]")).to_have_count(3)
    for n, name in enumerate(("alice", "dave", "eve"), 1):
        expect(card.locator(f'li[data-answer="{n}"]')).to_contain_text(name)
        expect(card.locator(f'li[data-answer="{n}"] [data-field=on-frame]')).to_have_text("1 on this frame")
    expect(page.locator("[data-act=set-action][data-value=unsure]")).to_have_count(0)
    assert violations(page) == []  # axe-core, as on every other screen
    # Three colours, one per answer, each drawn where that answer's box is on frame 0.
    colours = page.evaluate(
        """() => [1, 2, 3].map((n) => getComputedStyle(document.querySelector(`.swatch.a${n}`)).backgroundColor)"""
    )
    assert len(set(colours)) == 3
    # The most opaque pixel around the start of each answer's top edge (dashes start there).
    drawn = page.evaluate(
        """() => {
          const ctx = document.querySelector("#wb-answers-canvas").getContext("2d");
          return [20, 120, 220].map((x) => {
            const d = ctx.getImageData(x + 1, 38, 3, 5).data;
            let best = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i + 3] > d[best + 3]) best = i;
            return [d[best], d[best + 1], d[best + 2], d[best + 3]];
          });
        }"""
    )
    expected = [[int(c) for c in colour[colour.index("(") + 1 : -1].split(",")] for colour in colours]
    for pixel, colour in zip(drawn, expected, strict=True):
        assert pixel[3] > 100, pixel
        assert all(abs(a - b) <= 12 for a, b in zip(pixel[:3], colour, strict=True)), (pixel, colour)
    screenshot(page, "workbench-adjudication")
    page.keyboard.press(".")
    expect(page.locator("#wb-frame")).to_have_text("1")
    expect(card.locator('li[data-answer="1"] [data-field=on-frame]')).to_have_text("0 on this frame")

    # Decide with dave's product, from his answer; "can't tell" is no decision here.
    page.keyboard.press("u")
    expect(page.locator("#wb-status")).to_have_text("An adjudication decides: take, put back or none.")
    card.locator('li[data-answer="2"] [data-act=pick]').click()
    page.keyboard.press("t")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#wb-done")).to_be_visible()

    (label,) = Label.objects.all()
    assert (label.source, label.human["sku"], label.associate_id) == ("adjudication", "SKU-0002", carol.pk)
    assert [a["agreed"] for a in label.provenance["answers"]] == [False, True, False]
    assert_clean(page)
