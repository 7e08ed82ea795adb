"""The datasets page in a real browser: reached from the navigation, its live count shown
from the start and following the filters (a plain date included), a dataset created."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotator.models import Dataset
from tests.annotator.labelling import event_label
from tests.browser.conftest import assert_clean, login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_supervisor_finds_the_datasets_and_the_count_follows_the_filters(page, s001, alice, carol):
    for _ in range(3):
        event_label(store=s001, associate=alice)
    login(page, carol)
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets").click()
    expect(page).to_have_url("/datasets/")
    count = page.locator("#dataset-count [data-count]")
    # On load, with Name still empty (htmx checks a form's required fields before a request).
    expect(count).to_have_attribute("data-count", "3")
    page.get_by_label("From (UTC date)").fill((timezone.now() + dt.timedelta(days=1)).date().isoformat())
    expect(count).to_have_attribute("data-count", "0")  # a plain date is midnight UTC, not an error
    page.get_by_label("From (UTC date)").fill("")
    expect(count).to_have_attribute("data-count", "3")
    page.get_by_label("Name").fill("All of May")
    page.get_by_role("button", name="Create dataset").click()
    expect(page.locator("#datasets")).to_contain_text("All of May")
    screenshot(page, "datasets")
    assert Dataset.objects.get().name == "All of May"
    assert_clean(page)
