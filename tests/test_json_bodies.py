"""Every JSON body of the API is an object, and the schema says so: `null`, a list or a
number is refused the same way everywhere (400 `not_an_object` in the error shape), and no
request body of the schema declares such a value valid (issue 21, item 20)."""

import pytest

from tests.conftest import token_client
from tests.factories import UserFactory
from tests.test_openapi import operations

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client) -> dict:
    return client.get("/api/schema/", {"format": "json"}).json()


def json_body_operations(schema: dict) -> list[tuple[str, str]]:
    found = []
    for name, operation in operations(schema):
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            method, path = name.split(" ")
            found.append((method, path))
    return found


def resolved(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_every_json_request_body_is_declared_an_object_that_is_not_nullable(schema):
    for method, path in json_body_operations(schema):
        body = schema["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
        declared = resolved(schema, body)
        assert declared.get("type") == "object", (method, path, declared)
        assert "oneOf" not in body and "anyOf" not in body, (method, path)


@pytest.mark.parametrize("raw", ["null", "[]", "[{}]", "42", '"text"', "true"])
def test_a_json_body_that_is_not_an_object_is_400_everywhere(schema, s001, raw):
    """A superuser holds every role, so each view gets as far as reading its body; the ones
    without path parameters have nothing to look up first."""
    client = token_client(UserFactory(username="root", is_superuser=True, stores=[s001]))
    checked = 0
    for method, path in json_body_operations(schema):
        if "{" in path:
            continue
        response = client.generic(method, path, raw, content_type="application/json")
        assert response.status_code == 400, (path, response.content)
        assert response.json() == {"error": {"code": "not_an_object", "detail": "The body must be a JSON object."}}
        checked += 1
    assert checked >= 5


def test_a_null_result_or_filters_is_refused_as_the_schema_says(s001, alice, s001_integration):
    """`result` and `filters` are declared objects: null and lists are refused with `field`."""
    integration = token_client(s001_integration)
    for filters in (None, ["S001"]):
        response = integration.post(
            "/api/v1/datasets/", {"name": "x", "format": "jsonl", "filters": filters}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["error"]["field"] == "filters"
