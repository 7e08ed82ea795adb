"""Everything built on labels counts checked judgements only (API.md v1.1): calibration,
datasets by default, agreement; and an audit error rate over a handful of audits is not a
number."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from annotator.models import Dataset, Label
from annotator.selectors.associates import AssociateFigures, _agreement
from annotator.services.queues import queue_for
from catalog.models import Store
from tests.conftest import token_client
from tests.validation.bodies import event_body
from tests.validation.review import OPENED, associate, audited_visit, pending_visit, validate, verdicts
from validation import calibration
from validation.metrics import MIN_AUDITS, AutomationRow

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_checked_two_unchecked(s001, alice):
    """A visit: the low event confirmed after watching it, two confident ones left closed."""
    visit, task = pending_visit(
        s001,
        [
            event_body(1, sku="SKU-0001", confidence=0.45),
            event_body(2, sku="SKU-0002", confidence=0.95),
            event_body(3, sku="SKU-0003", confidence=0.97),
        ],
    )
    e1, e2, e3 = (str(e.id) for e in visit.events.order_by("seq"))
    validate(
        alice,
        task,
        [
            {"event": e1, "verdict": "confirm", "evidence": OPENED},
            {"event": e2, "verdict": "confirm", "evidence": {"opened": False, "watched_ms": 0, "frames_viewed": 0}},
            {"event": e3, "verdict": "confirm"},
        ],
    )
    return visit


def since():
    return timezone.now() - dt.timedelta(days=30)


def test_calibration_counts_only_the_checked_confirm(s001, one_checked_two_unchecked):
    stores = Store.objects.filter(pk=s001.pk)
    observed = calibration.observations(stores=stores, since=since())
    assert [(o.confidence, o.right) for o in observed] == [(0.45, True)]
    buckets = calibration.reliability(observed)["all"]
    assert [b.n for b in buckets] == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert calibration.unchecked_confirms(stores=stores, since=since()) == 2


def test_the_calibration_page_says_how_many_unchecked_confirms_it_left_out(client, carol, one_checked_two_unchecked):
    client.force_login(carol)
    html = client.get(reverse("validation:calibration")).content.decode()
    assert "(1 human-judged events" in html
    assert "2 unchecked confirms left out" in html


def create(client, **filters):
    return client.post("/api/v1/datasets/", {"name": "d", "format": "jsonl", "filters": filters}, format="json")


def test_datasets_hold_checked_labels_unless_asked_otherwise(s001_integration, one_checked_two_unchecked):
    client = token_client(s001_integration)
    default = create(client)
    assert default.status_code == 202 and default.json()["items"] == 1
    assert Dataset.objects.get(pk=default.json()["id"]).filters["checked_only"] is True
    assert create(client, checked_only=True).json()["items"] == 1
    assert create(client, checked_only=False).json()["items"] == 3


def test_checked_only_must_be_a_boolean(s001_integration, one_checked_two_unchecked):
    response = create(token_client(s001_integration), checked_only="yes")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "filters.checked_only"


def test_the_dataset_form_includes_unchecked_confirms_only_when_ticked(client, carol, one_checked_two_unchecked):
    client.force_login(carol)
    url = reverse("annotator:dataset_new")
    client.post(url, {"name": "checked", "format": "jsonl", "stores": ["S001"]})
    client.post(url, {"name": "all", "format": "jsonl", "stores": ["S001"], "include_unchecked": "on"})
    assert dict(Dataset.objects.values_list("name", "items")) == {"checked": 1, "all": 3}


def test_agreement_compares_checked_labels_only(s001, alice, dave):
    """Two associates on one visit (overlap 2): their unchecked confirms do not agree."""
    queue = queue_for(store=s001, kind="visit_validation")
    queue.overlap = 2
    queue.save(update_fields=["overlap"])
    visit, task = pending_visit(s001, [event_body(1, confidence=0.5), event_body(2, sku="SKU-0002", confidence=0.99)])
    e1, e2 = (str(e.id) for e in visit.events.order_by("seq"))
    said = [{"event": e1, "verdict": "confirm", "evidence": OPENED}, {"event": e2, "verdict": "confirm"}]
    validate(alice, task, said)
    validate(dave, task, said)
    assert Label.objects.filter(task=task).count() == 4
    people = {user.pk: AssociateFigures(user.pk, user.username, ["S001"]) for user in (alice, dave)}
    _agreement(people, store_ids=[s001.pk], since=since())
    assert people[alice.pk].agreement_others == (1, 1)


def test_an_error_rate_over_too_few_audits_is_not_a_number():
    few = AutomationRow(store="S001", model_version="m", visits=10, auto_accepted=9, audits=3, audit_errors=0)
    enough = AutomationRow(
        store="S001", model_version="m", visits=10, auto_accepted=9, audits=MIN_AUDITS, audit_errors=0
    )
    assert few.too_few_audits and few.as_dict()["too_few_audits"] is True
    assert not enough.too_few_audits


def test_the_console_reads_too_few_audits(client, carol, s001):
    ann = associate(s001, "ann")
    visit, task = audited_visit(s001)
    validate(ann, task, verdicts(visit))
    client.force_login(carol)
    html = client.get(reverse("annotator:supervise_panel"), {"name": "automation"}).content.decode()
    assert "too few audits (1)" in html
    assert "0.00 %" not in html
