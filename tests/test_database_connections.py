"""A database restart costs no request a 500: persistent connections are health-checked."""

import psycopg2
import pytest
from django.db import close_old_connections, connection


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


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_next_request_after_a_dropped_connection_reconnects():
    pid = backend_pid()
    close_old_connections()  # what every request starts with
    assert backend_pid() == pid, "the connection is kept between requests"

    terminate(pid)  # the server went away (restart, failover, idle kill)
    close_old_connections()
    assert backend_pid() != pid
