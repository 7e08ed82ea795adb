"""`GET`/`PATCH /api/v1/stores/{code}/policy/` (API.md, "Store policy"): supervisors of the store
read and change it; bad values are refused with `field` and change nothing; every change is
recorded (who, when, old → new)."""

import pytest

from catalog.models import PolicyChange
from tests.conftest import session_client, token_client

URL = "/api/v1/stores/{}/policy/"
DEFAULTS = {
    "auto_accept_threshold": 0.9,
    "sla_minutes": 15,
    "audit_rate": 0.02,
    "gold_share": 0.05,
    "min_gold_accuracy": 0.9,
    "min_gold_events": 20,
    "snippet_overlap": 1,
    "media_retention_days": 30,
}


def test_a_supervisor_reads_the_policy_with_every_field(carol):
    response = token_client(carol).get(URL.format("S001"))
    assert response.status_code == 200
    assert response.json() == DEFAULTS


def test_a_patch_changes_only_what_it_names_and_records_each_change(carol, s001):
    response = session_client(carol).patch(
        URL.format("S001"), {"gold_share": 0.1, "snippet_overlap": 3, "sla_minutes": 15}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json() == {**DEFAULTS, "gold_share": 0.1, "snippet_overlap": 3}
    s001.refresh_from_db()
    assert (s001.gold_share, s001.snippet_overlap) == (0.1, 3)
    changes = {(c.field, c.old, c.new, c.changed_by.username) for c in PolicyChange.objects.all()}
    assert changes == {("gold_share", 0.05, 0.1, "carol"), ("snippet_overlap", 1, 3, "carol")}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"gold_share": 0.6}, "gold_share"),
        ({"min_gold_accuracy": "high"}, "min_gold_accuracy"),
        ({"min_gold_events": 0}, "min_gold_events"),
        ({"snippet_overlap": 6, "gold_share": 0.1}, "snippet_overlap"),
        ({"snippet_overlap": None}, "snippet_overlap"),
        ({"media_retention_days": 1.5}, "media_retention_days"),
        ({"store": "S002"}, "store"),
        ({"by": "alice"}, "by"),
        ([1, 2], None),
        ("text", None),
    ],
)
def test_bad_patches_answer_400_with_the_field_and_change_nothing(carol, s001, body, field):
    response = session_client(carol).patch(URL.format("S001"), body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == ("invalid_policy" if field else "not_an_object")
    assert error.get("field") == field
    s001.refresh_from_db()
    assert {field: getattr(s001, field) for field in DEFAULTS} == DEFAULTS
    assert not PolicyChange.objects.exists()


def test_a_body_that_is_not_json_is_refused(carol, s001):
    response = session_client(carol).patch(URL.format("S001"), "{", content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_only_supervisors_of_the_store(alice, sam, s001_integration, api, s001):
    assert api.get(URL.format("S001")).status_code == 401
    assert token_client(alice).get(URL.format("S001")).status_code == 403
    assert (
        token_client(s001_integration).patch(URL.format("S001"), {"gold_share": 0.2}, format="json").status_code == 403
    )
    assert token_client(sam).get(URL.format("S001")).status_code == 404
    assert token_client(sam).patch(URL.format("S001"), {"gold_share": 0.2}, format="json").status_code == 404
    assert token_client(sam).get(URL.format("NOPE")).status_code == 404
    assert not PolicyChange.objects.exists()


def test_the_policy_page_edits_the_workforce_fields(client, carol, s001):
    client.force_login(carol)
    page = client.get("/supervise/calibration/", {"store": "S001"}).content.decode()
    for field in ("gold_share", "min_gold_accuracy", "min_gold_events", "snippet_overlap"):
        assert f'name="{field}"' in page
    response = client.post("/supervise/stores/S001/policy/", {"min_gold_events": "30", "snippet_overlap": "5"})
    assert response.status_code == 302
    s001.refresh_from_db()
    assert (s001.min_gold_events, s001.snippet_overlap) == (30, 5)
