"""The plain Django operations views answer a method they do not take with 405, whatever the
CSRF check would say (it runs first, and once answered `QUERY /healthz` with 403)."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
@pytest.mark.parametrize("method", ["QUERY", "POST", "DELETE"])
def test_an_unknown_or_unsafe_method_is_405_not_403(path, method):
    client = Client(enforce_csrf_checks=True)
    response = client.generic(method, path)
    assert response.status_code == 405
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_get_still_answers(path):
    assert Client(enforce_csrf_checks=True).get(path).status_code == 200
