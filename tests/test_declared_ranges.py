"""The ranges the schema declares are the ones the views enforce, fed the same cases: the
bounds are taken from /api/schema/, values on them are accepted and values just past them
are 400 with the `field` at fault (issue 21, item 20)."""

import pytest

from tests.conftest import token_client
from tests.validation.bodies import event_body, visit_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client) -> dict:
    return client.get("/api/schema/", {"format": "json"}).json()


def parameter_range(schema: dict, path: str, name: str) -> tuple[int, int]:
    declared = next(p["schema"] for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name)
    return declared["minimum"], declared["maximum"]


@pytest.mark.parametrize(
    ("path", "who"), [("/api/v1/labels/", "s001_integration"), ("/api/v1/tasks/lookahead/", "alice")]
)
def test_limit_is_enforced_exactly_as_declared(request, schema, path, who):
    client = token_client(request.getfixturevalue(who))
    low, high = parameter_range(schema, path, "limit")
    for limit in (low, high):
        assert client.get(path, {"limit": limit}).status_code == 200, limit
    for limit in (low - 1, high + 1, "many"):
        response = client.get(path, {"limit": limit})
        assert response.status_code == 400, limit
        assert response.json()["error"]["field"] == "limit"


def test_confidence_and_score_are_enforced_exactly_as_declared(schema, s001_integration):
    components = schema["components"]["schemas"]
    confidence = components["EventInRequest"]["properties"]["confidence"]
    score = components["CandidateInRequest"]["properties"]["score"]
    assert (score["minimum"], score["maximum"]) == (confidence["minimum"], confidence["maximum"])
    client = token_client(s001_integration)
    low, high = confidence["minimum"], confidence["maximum"]
    for value in (low, high):
        event = event_body(1, confidence=value, candidates=[{"sku": "SKU-0002", "score": value}])
        assert client.post("/api/v1/visits/", visit_body(events=[event]), format="json").status_code == 201
    for value in (low - 0.001, high + 0.001):
        response = client.post("/api/v1/visits/", visit_body(events=[event_body(1, confidence=value)]), format="json")
        assert response.status_code == 400
        assert response.json()["error"]["field"] == "events[0].confidence"
        candidates = [{"sku": "SKU-0002", "score": value}]
        response = client.post(
            "/api/v1/visits/", visit_body(events=[event_body(1, candidates=candidates)]), format="json"
        )
        assert response.status_code == 400
        assert response.json()["error"]["field"] == "events[0].candidates[0].score"
