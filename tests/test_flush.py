"""The flush between transactional tests (tests/conftest.py `flush_by_delete` on PostgreSQL)
leaves every table of Loupe's empty, rows tied by foreign keys included."""

import pytest
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection

from annotator.models import Queue, QueueMembership
from annotator.services.queues import DEFAULT_QUEUE_NAMES
from tests.conftest import token_client


@pytest.mark.django_db(transaction=True)
def test_a_flush_empties_every_table(s001, alice, carol):
    for kind, name in DEFAULT_QUEUE_NAMES.items():
        queue = Queue.objects.create(store=s001, kind=kind, name=name)
        QueueMembership.objects.create(queue=queue, user=alice)
    token_client(alice)  # a token: a row that points at a user
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with connection.cursor() as cursor:
        filled = [table for table in tables if _rows(cursor, table)]
    assert {"catalog_store", "annotator_queue", "annotator_queuemembership", "authtoken_token"} <= set(filled)

    flush = connection.ops.sql_flush(no_style(), tables)
    if connection.vendor == "postgresql":  # what the fixture runs there (SQLite's is DELETE too)
        assert all(statement.startswith("DELETE FROM") for statement in flush)
    call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)

    with connection.cursor() as cursor:
        assert {table: _rows(cursor, table) for table in tables if _rows(cursor, table)} == {}


def _rows(cursor, table: str) -> int:
    cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608 (a table name of Django's)
    return cursor.fetchone()[0]
