"""A store's routing policy: every change recorded (who, when, old → new), bad values refused."""

import pytest
from django.urls import reverse

from catalog.models import PolicyChange
from catalog.services.policy import store_policy_update
from infra.errors import LoupeError


def test_each_changed_field_is_recorded(s001, carol):
    written = store_policy_update(store=s001, by=carol, auto_accept_threshold="0.8", sla_minutes=20, audit_rate=0.02)

    s001.refresh_from_db()
    assert (s001.auto_accept_threshold, s001.sla_minutes, s001.audit_rate) == (0.8, 20, 0.02)
    assert {(c.field, c.old, c.new) for c in written} == {("auto_accept_threshold", 0.9, 0.8), ("sla_minutes", 15, 20)}
    assert PolicyChange.objects.filter(changed_by=carol).count() == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"auto_accept_threshold": 1.5}, "auto_accept_threshold"),
        ({"auto_accept_threshold": -0.1}, "auto_accept_threshold"),
        ({"auto_accept_threshold": "nan"}, "auto_accept_threshold"),
        ({"audit_rate": "x"}, "audit_rate"),
        ({"sla_minutes": 0}, "sla_minutes"),
        ({"sla_minutes": "2.5"}, "sla_minutes"),
        ({"sla_minutes": 100000}, "sla_minutes"),
        ({"sla_minutes": 30, "audit_rate": 2}, "audit_rate"),
        ({"name": "x"}, "name"),
        ({"media_retention_days": 0}, "media_retention_days"),
        ({"media_retention_days": "7.5"}, "media_retention_days"),
        ({"media_retention_days": 3651}, "media_retention_days"),
        ({"media_retention_days": True}, "media_retention_days"),
        ({"gold_share": 0.51}, "gold_share"),
        ({"gold_share": -0.01}, "gold_share"),
        ({"gold_share": True}, "gold_share"),
        ({"min_gold_accuracy": 1.01}, "min_gold_accuracy"),
        ({"min_gold_events": 0}, "min_gold_events"),
        ({"min_gold_events": 1001}, "min_gold_events"),
        ({"snippet_overlap": 0}, "snippet_overlap"),
        ({"snippet_overlap": 6}, "snippet_overlap"),
        ({"snippet_overlap": "2.0"}, "snippet_overlap"),
    ],
)
def test_bad_values_change_nothing(s001, carol, changes, field):
    with pytest.raises(LoupeError) as caught:
        store_policy_update(store=s001, by=carol, **changes)

    assert caught.value.field == field
    s001.refresh_from_db()
    assert (s001.auto_accept_threshold, s001.sla_minutes, s001.audit_rate) == (0.9, 15, 0.02)
    assert not PolicyChange.objects.exists()


def test_the_policy_form(client, carol, s001):
    client.force_login(carol)
    url = reverse("validation:store_policy", kwargs={"code": "S001"})

    assert client.post(url, {"sla_minutes": "0"}).status_code == 400
    assert client.post(url, {"auto_accept_threshold": "2"}).status_code == 400
    assert client.post(url, {"sla_minutes": "10", "auto_accept_threshold": "0.95"}).status_code == 302
    s001.refresh_from_db()
    assert (s001.sla_minutes, s001.auto_accept_threshold) == (10, 0.95)
    assert PolicyChange.objects.count() == 2


def test_only_the_store_supervisors_edit_its_policy(client, sam, alice, s001):
    url = reverse("validation:store_policy", kwargs={"code": "S001"})
    client.force_login(sam)
    assert client.post(url, {"sla_minutes": "10"}).status_code == 404
    client.force_login(alice)
    assert client.post(url, {"sla_minutes": "10"}).status_code == 403
    assert not PolicyChange.objects.exists()


def test_media_retention_days_defaults_to_30_and_changes_are_recorded(client, carol, s001):
    assert s001.media_retention_days == 30
    client.force_login(carol)
    url = reverse("validation:store_policy", kwargs={"code": "S001"})
    assert client.post(url, {"media_retention_days": "7"}).status_code == 302
    s001.refresh_from_db()
    assert s001.media_retention_days == 7
    change = PolicyChange.objects.get()
    assert (change.field, change.old, change.new, change.changed_by) == ("media_retention_days", 30, 7, carol)
    assert b'name="media_retention_days"' in client.get(reverse("validation:calibration"), {"store": "S001"}).content
