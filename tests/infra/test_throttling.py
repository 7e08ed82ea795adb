"""The API's rate limits: 429 `throttled` in the error shape, with Retry-After; per user (or
token) for authenticated callers, per address for anonymous ones."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from config.env import env_rate
from tests.conftest import token_client

URL = "/api/v1/metrics/"


@pytest.fixture
def rates(settings, db):
    cache.clear()

    def rates(*, user=None, anon=None):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": user, "anon": anon}}

    yield rates
    cache.clear()


def assert_throttled(response):
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == "throttled"
    assert "throttled" in error["detail"].lower()
    assert int(response["Retry-After"]) >= 1


def test_a_token_over_its_rate_is_throttled_in_the_error_shape(rates, carol):
    rates(user="3/min")
    client = token_client(carol)
    for _ in range(3):
        assert client.get(URL).status_code == 200
    assert_throttled(client.get(URL))


def test_one_callers_limit_does_not_throttle_another(rates, carol, sam):
    rates(user="2/min")
    first = token_client(carol)
    for _ in range(3):
        first.get(URL)
    assert token_client(sam).get(URL).status_code == 200


def test_anonymous_callers_are_throttled_per_address(rates, db):
    rates(anon="2/min")
    client = APIClient()
    for _ in range(2):
        assert client.get("/api/docs/", REMOTE_ADDR="203.0.113.7").status_code == 200
    assert client.get("/api/docs/", REMOTE_ADDR="203.0.113.7").status_code == 429
    assert client.get("/api/docs/", REMOTE_ADDR="198.51.100.9").status_code == 200


def test_a_forged_forwarded_for_does_not_escape_the_anonymous_limit(rates, db):
    rates(anon="2/min")
    client = APIClient()
    codes = [
        client.get("/api/docs/", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}").status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]


def test_the_test_suite_runs_unthrottled(carol):
    client = token_client(carol)
    assert all(client.get(URL).status_code == 200 for _ in range(60))


@pytest.mark.parametrize(("raw", "rate"), [("50/s", "50/s"), ("600/min", "600/min"), ("", None)])
def test_rates_come_from_the_environment(monkeypatch, raw, rate):
    monkeypatch.setenv("API_THROTTLE_USER", raw)
    assert env_rate("API_THROTTLE_USER", "50/s") == rate


@pytest.mark.parametrize("raw", ["50", "fifty/s", "50/fortnight", "-1/s"])
def test_a_rate_that_is_not_one_stops_the_boot(monkeypatch, raw):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("API_THROTTLE_USER", raw)
    with pytest.raises(ImproperlyConfigured):
        env_rate("API_THROTTLE_USER", "50/s")
