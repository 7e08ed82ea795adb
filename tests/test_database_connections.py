"""A database restart costs no request a 500: persistent connections are health-checked, and
a request that meets the database away answers 503 (the API in its error shape), never an
HTML 500."""

from unittest import mock

import psycopg2
import pytest
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import DataError
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import session_client, token_client


def terminate(pid: int) -> None:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    other = psycopg2.connect(**params)
    try:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def database_away(exc: Exception | None = None):
    """Every query of this process fails as it does while the database is away."""
    exc = exc or OperationalError("the database system is shutting down")
    return mock.patch.object(BaseDatabaseWrapper, "ensure_connection", side_effect=exc)


def answering(client: APIClient) -> APIClient:
    client.raise_request_exception = False  # answer as a server would, instead of raising
    return client


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_next_request_after_a_dropped_connection_reconnects():
    pid = backend_pid()
    close_old_connections()  # what every request starts with
    assert backend_pid() == pid, "the connection is kept between requests"

    terminate(pid)  # the server went away (restart, failover, idle kill)
    close_old_connections()
    assert backend_pid() != pid


@pytest.mark.parametrize("exc", [OperationalError("server closed the connection"), InterfaceError("closed")])
def test_an_api_request_without_a_database_answers_a_json_503(s001_integration, exc):
    client = answering(token_client(s001_integration))
    with database_away(exc):
        response = client.get("/api/v1/labels/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    detail = "The database is unavailable for a moment; try again shortly."
    assert response.json() == {"error": {"code": "database_unavailable", "detail": detail}}


def test_a_page_without_a_database_answers_a_plain_503_page(alice):
    client = answering(session_client(alice))
    with database_away():
        response = client.get("/work/")  # the session itself cannot be read
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Back in a moment" in page and "Traceback" not in page


def test_other_server_errors_stay_500_and_the_api_keeps_its_error_shape(s001_integration):
    client = answering(token_client(s001_integration))
    with database_away(DataError("value out of range")):  # a bug, not an outage
        response = client.get("/api/v1/labels/")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "server_error", "detail": "The server failed to answer this request."}}
    assert "Retry-After" not in response


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_while_the_database_restarts_the_api_answers_503_then_recovers(s001_integration):
    """A real restart: the persistent connection is cut and new ones refused for a while."""
    token = Token.objects.create(user=s001_integration)
    client = answering(APIClient())
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/labels/").status_code == 200
    name = connection.settings_dict["NAME"]
    params = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
    admin = psycopg2.connect(**{**params, "dbname": "postgres"})
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"ALTER DATABASE {connection.ops.quote_name(name)} ALLOW_CONNECTIONS false")
            try:
                cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid()])
                close_old_connections()  # the request's start: the health check drops the dead connection
                during = client.get("/api/v1/labels/")
            finally:
                cursor.execute(f"ALTER DATABASE {connection.ops.quote_name(name)} ALLOW_CONNECTIONS true")
    finally:
        admin.close()
    assert during.status_code == 503, during.content
    assert during.json()["error"]["code"] == "database_unavailable"
    close_old_connections()
    assert client.get("/api/v1/labels/").status_code == 200
