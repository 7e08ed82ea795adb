"""Calibration on synthetic judged events with a known answer, and applying it."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import PolicyChange, Store
from tests.validation.supervise_data import judged_events, visit
from validation import calibration

# 100 events at each confidence; wrong ones: none at 0.95 and 0.85, 10 at 0.75, 50 at 0.65.
SYNTHETIC = (
    [(0.95, True)] * 100
    + [(0.85, True)] * 100
    + [(0.75, True)] * 90
    + [(0.75, False)] * 10
    + [(0.65, True)] * 50
    + [(0.65, False)] * 50
)


@pytest.fixture
def judged(s001, alice):
    judged_events(s001, alice, SYNTHETIC)
    # Recent visits for the review load: least confident event 0.9 (6 of them) or 0.8 (4).
    recent = timezone.now() - dt.timedelta(days=1)
    for confidence in [0.9] * 6 + [0.8] * 4:
        visit(s001, exited_at=recent, min_confidence=confidence)
    return Store.objects.filter(pk=s001.pk)


def since():
    return timezone.now() - dt.timedelta(days=30)


@pytest.mark.parametrize(
    ("target", "threshold", "events", "errors"),
    [(0.01, 0.85, 200, 0), (0.05, 0.75, 300, 10), (0.15, 0.65, 400, 60), (0.2, 0.65, 400, 60)],
)
def test_the_lowest_threshold_meeting_the_target(judged, target, threshold, events, errors):
    found = calibration.recommend(stores=judged, since=since(), target=target)

    assert (found.threshold, found.accepted_events, found.accepted_errors) == (threshold, events, errors)


def test_the_recommendation_carries_its_intervals_and_review_load(judged):
    found = calibration.recommend(stores=judged, since=since(), target=0.01)

    assert found.error_rate == 0.0
    low, high = found.error_interval
    assert low == 0.0
    assert high == pytest.approx(1.959964**2 / (200 + 1.959964**2))  # Wilson upper bound with 0 errors
    assert (found.visits, found.visits_to_review, found.review_share) == (10, 4, 0.4)
    assert found.review_interval[0] < 0.4 < found.review_interval[1]


def test_no_threshold_when_even_the_most_confident_events_miss_the_target(s001, alice):
    judged_events(s001, alice, [(0.99, False), (0.9, True)])

    found = calibration.recommend(stores=Store.objects.filter(pk=s001.pk), since=since(), target=0.01)

    assert found.threshold is None


def test_reliability_buckets_per_model_version(s001, alice):
    judged_events(s001, alice, [(0.95, True), (0.92, False), (0.55, True)], model_version="m1")
    judged_events(s001, alice, [(0.97, True)], model_version="m2")

    buckets = calibration.reliability(calibration.observations(stores=Store.objects.filter(pk=s001.pk), since=since()))

    top = buckets["m1"][9]
    assert (top.n, top.right, top.accuracy) == (2, 1, 0.5)
    assert top.mean_confidence == pytest.approx(0.935)
    assert buckets["m1"][5].n == 1
    assert buckets["all"][9].n == 3
    assert buckets["m2"][9].accuracy == 1.0


def test_the_calibration_page_shows_and_applies_the_threshold(client, carol, judged, s001):
    client.force_login(carol)

    page = client.get(reverse("validation:calibration"), {"store": "S001", "target": "1"})

    assert page.status_code == 200
    assert b'data-kpi="threshold">0.850' in page.content
    assert b'id="calibration-data"' in page.content
    url = reverse("validation:calibration_apply", kwargs={"code": "S001"})
    asked = client.post(url, {"threshold": "0.85", "target": "1"})
    assert asked.status_code == 200 and b'id="effect"' in asked.content
    s001.refresh_from_db()
    assert s001.auto_accept_threshold == 0.9 and not PolicyChange.objects.exists()
    response = client.post(url, {"threshold": "0.85", "target": "1", "confirm": "1"})
    assert response.status_code == 302
    s001.refresh_from_db()
    assert s001.auto_accept_threshold == 0.85
    change = PolicyChange.objects.get()
    assert (change.field, change.old, change.new, change.changed_by) == ("auto_accept_threshold", 0.9, 0.85, carol)
    assert "1 %" in change.reason


@pytest.mark.parametrize("target", ["0", "abc", "100"])
def test_a_bad_target_is_refused(client, carol, s001, target):
    client.force_login(carol)

    assert client.get(reverse("validation:calibration"), {"store": "S001", "target": target}).status_code == 400


@pytest.mark.parametrize("threshold", ["abc", "1.5", "-0.1", "nan", ""])
def test_a_bad_threshold_is_refused_at_the_confirm_step_and_changes_nothing(client, carol, s001, threshold):
    client.force_login(carol)
    url = reverse("validation:calibration_apply", kwargs={"code": "S001"})

    response = client.post(url, {"threshold": threshold, "target": "1"})

    assert response.status_code == 400
    assert b"auto_accept_threshold" in response.content
    s001.refresh_from_db()
    assert s001.auto_accept_threshold == 0.9 and not PolicyChange.objects.exists()


def test_calibration_of_another_store_is_404(client, sam, s001):
    client.force_login(sam)

    assert client.get(reverse("validation:calibration"), {"store": "S001"}).status_code == 404
    apply = client.post(reverse("validation:calibration_apply", kwargs={"code": "S001"}), {"threshold": "0.5"})
    assert apply.status_code == 404
    s001.refresh_from_db()
    assert s001.auto_accept_threshold == 0.9


def test_a_store_code_with_a_nul_is_404_not_a_database_error(client, carol, s001):
    client.force_login(carol)

    assert client.get(reverse("validation:calibration"), {"store": "S001\x00"}).status_code == 404
    for name in ("validation:calibration_apply", "validation:store_policy"):
        response = client.post(reverse(name, kwargs={"code": "S001\x00"}), {"threshold": "0.5", "sla_minutes": "5"})
        assert response.status_code == 404
    s001.refresh_from_db()
    assert (s001.auto_accept_threshold, s001.sla_minutes) == (0.9, 15)
    assert not PolicyChange.objects.exists()


# The confirm step of applying a threshold ------------------------------------------------


def ask(client, carol, threshold, target):
    client.force_login(carol)
    url = reverse("validation:calibration_apply", kwargs={"code": "S001"})
    return client.post(url, {"threshold": threshold, "target": target})


def test_applying_shows_the_effect_first_and_changes_nothing(client, carol, judged, s001):
    asked = ask(client, carol, "0.75", "5")

    page = asked.content.decode()
    assert asked.status_code == 200
    # At 0.75: 300 judged events, 10 wrong; 10 recent visits, none below 0.75.
    assert 'data-kpi="auto_share">100.0 %' in page and "of 10" in page
    assert 'data-kpi="error_rate">3.33 %' in page and "of 300 judged events" in page
    assert 'name="confirm" value="1"' in page
    s001.refresh_from_db()
    assert s001.auto_accept_threshold == 0.9 and not PolicyChange.objects.exists()


def test_a_threshold_whose_interval_passes_the_target_is_warned_about(client, carol, judged, s001):
    # 0 errors in 200 events at 0.85: Wilson's upper bound is 1.9 %, above a 1 % target.
    asked = ask(client, carol, "0.85", "1")

    page = asked.content.decode()
    assert 'id="above-target"' in page and "upper bound (1.88 %) is above the target (1.0 %)" in page
    assert "Apply anyway" in page
    s001.refresh_from_db()
    assert s001.auto_accept_threshold == 0.9


def test_a_threshold_whose_interval_stays_under_the_target_is_not_warned_about(client, carol, judged):
    page = ask(client, carol, "0.85", "5").content.decode()

    assert 'id="above-target"' not in page
    assert "Apply 0.850" in page


def test_a_threshold_without_judged_events_is_warned_about(client, carol, s001):
    page = ask(client, carol, "0.5", "1").content.decode()

    assert 'id="above-target"' in page and "its error rate is unknown" in page


@pytest.mark.parametrize("threshold", ["", "abc", "1.5", "-0.1"])
def test_a_bad_threshold_is_refused_before_the_confirm_step(client, carol, s001, threshold):
    response = ask(client, carol, threshold, "1")

    assert response.status_code == 400
    s001.refresh_from_db()
    assert s001.auto_accept_threshold == 0.9
