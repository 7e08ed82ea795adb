"""Data migrations, run forwards on rows written under the schema before them."""

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.annotator.work import add_tasks, work_queue

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BEFORE = [("annotator", "0009_queue_fk_indexes_covered")]
AFTER = [("annotator", "0011_annotation_store_required")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def test_existing_annotations_take_their_tasks_store(s001, s002, alice):
    queue = work_queue(s001, alice)
    other = work_queue(s002, alice, name="Other")
    (task,) = add_tasks(queue, 1)
    (elsewhere,) = add_tasks(other, 1)
    slots = [task.slots.get(), elsewhere.slots.get()]
    migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            for slot in slots:
                cursor.execute(
                    "INSERT INTO annotator_annotation (id, task_id, slot_id, associate_id, kind, result,"
                    " submission_id, active_seconds, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    # Hex uuids: PostgreSQL's uuid type and SQLite's char(32) both take them.
                    [
                        *(uuid.uuid4().hex, slot.task_id.hex, slot.pk, alice.pk, "snippet_annotation", "{}"),
                        *(uuid.uuid4().hex, 1.5, "2026-11-01T00:00:00+00:00"),
                    ],
                )
    finally:
        migrate(AFTER)
    with connection.cursor() as cursor:
        cursor.execute("SELECT slot_id, store_id FROM annotator_annotation ORDER BY slot_id")
        rows = cursor.fetchall()
    assert rows == sorted((slot.pk, slot.task.store_id) for slot in slots)
    assert {store_id for _, store_id in rows} == {s001.pk, s002.pk}
