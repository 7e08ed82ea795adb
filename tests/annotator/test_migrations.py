"""Data migrations, run forwards on rows written under the schema before them."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from annotator.models import Slot
from tests.annotator.work import add_tasks, work_queue

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def migrate(targets=None):
    """To `targets`; by default to the latest migrations, the schema the rest of the suite
    runs on."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


def test_existing_annotations_take_their_tasks_store(s001, s002, alice):
    queue = work_queue(s001, alice)
    other = work_queue(s002, alice, name="Other")
    (task,) = add_tasks(queue, 1)
    (elsewhere,) = add_tasks(other, 1)
    slots = [task.slots.get(), elsewhere.slots.get()]
    migrate([("annotator", "0009_queue_fk_indexes_covered")])
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
        migrate()
    with connection.cursor() as cursor:
        cursor.execute("SELECT slot_id, store_id FROM annotator_annotation ORDER BY slot_id")
        rows = cursor.fetchall()
    assert rows == sorted((slot.pk, slot.task.store_id) for slot in slots)
    assert {store_id for _, store_id in rows} == {s001.pk, s002.pk}


def test_an_associate_holding_two_slots_of_a_queue_keeps_the_one_leased_longest(s001, alice, bob):
    """Only a supervisor's reassign could give one associate two open slots of a queue
    before 0012; the migration frees all but the one whose lease runs longest, as a release
    would, and leaves other holders and other states alone."""
    queue = work_queue(s001, alice, bob)
    tasks = add_tasks(queue, 4)
    now = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    shorter, longer, bobs, done = (task.slots.get() for task in tasks)
    migrate([("annotator", "0011_annotation_store_required")])
    try:
        for slot, holder, expires, state in (
            (shorter, alice, now, "open"),
            (longer, alice, now + dt.timedelta(minutes=5), "open"),
            (bobs, bob, now, "open"),
            (done, alice, now, "done"),
        ):
            Slot.objects.filter(pk=slot.pk).update(
                holder=holder, lease_token=3, leased_at=now, lease_expires_at=expires, state=state
            )
    finally:
        migrate()
    rows = {
        slot.pk: (slot.holder_id, slot.lease_token, slot.lease_expires_at, slot.state)
        for slot in Slot.objects.filter(pk__in=[shorter.pk, longer.pk, bobs.pk, done.pk])
    }
    assert rows == {
        shorter.pk: (None, 4, None, "open"),
        longer.pk: (alice.pk, 3, now + dt.timedelta(minutes=5), "open"),
        bobs.pk: (bob.pk, 3, now, "open"),
        done.pk: (alice.pk, 3, now, "done"),
    }
