"""Property-based test of the lease state machine against a plain in-memory model, on
PostgreSQL: claim / heartbeat / submit / release / expire by three associates over a few
tasks (one with overlap 2), checking every answer and the slot rows after every step."""

import uuid
from dataclasses import dataclass

import pytest
from django.db import connection
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from annotator.models import Annotation, Slot, Task, TaskExclusion
from annotator.services.submit import task_release, task_submit
from annotator.services.work import task_claim, task_heartbeat
from infra.errors import Conflict
from tests.annotator.work import add_tasks, associates, expire_leases, none_result, work_queue

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TASKS = 3  # due one second apart, so the claim order is the creation order


@dataclass
class ModelSlot:
    task: int  # index into the machine's tasks
    holder: int | None = None
    token: int = 0
    expired: bool = False
    done: bool = False


def make_machine(people, queue):
    class LeaseMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            with connection.cursor() as cursor:
                # Slots, exclusions, annotations and whatever else hangs off them.
                cursor.execute(f"TRUNCATE {Task._meta.db_table} CASCADE")
            self.tasks = add_tasks(queue, TASKS - 1) + add_tasks(queue, 1, overlap=2, due_in=60)
            self.slots = {
                slot.pk: ModelSlot(task=[t.pk for t in self.tasks].index(slot.task_id))
                for slot in Slot.objects.filter(task__in=self.tasks)
            }
            self.excluded: set[tuple[int, int]] = set()
            self.annotations = 0

        # The model ------------------------------------------------------------------------
        def held_by(self, who: int, task: int | None = None):
            return [
                pk
                for pk, s in self.slots.items()
                if s.holder == who and not s.done and (task is None or s.task == task)
            ]

        def claimable(self, who: int):
            touched = {s.task for s in self.slots.values() if s.holder == who}
            return [
                pk
                for pk, s in sorted(self.slots.items(), key=lambda item: (item[1].task, item[0]))
                if not s.done
                and (s.holder is None or s.expired)
                and s.task not in touched
                and (s.task, who) not in self.excluded
            ]

        # The rules ------------------------------------------------------------------------
        @rule(who=st.integers(0, 2))
        def claim(self, who):
            lease = task_claim(associate=people[who])
            if mine := self.held_by(who):
                (pk,) = mine
                assert lease is not None and lease.slot_id == pk
                if self.slots[pk].expired:
                    self.slots[pk].token += 1
                self.slots[pk].expired = False
                return
            options = self.claimable(who)
            if not options:
                assert lease is None
                return
            assert lease is not None and lease.slot_id == options[0], (lease, options)
            slot = self.slots[options[0]]
            slot.holder, slot.token, slot.expired = who, slot.token + 1, False

        @rule(who=st.integers(0, 2), task=st.integers(0, TASKS - 1))
        def heartbeat(self, who, task):
            mine = self.held_by(who, task)
            try:
                task_heartbeat(associate=people[who], task_id=self.tasks[task].pk)
            except Conflict:
                assert not mine
                return
            assert mine
            self.slots[mine[0]].expired = False

        @rule(who=st.integers(0, 2), task=st.integers(0, TASKS - 1), stale=st.booleans())
        def submit(self, who, task, stale):
            mine = self.held_by(who, task)
            token = (self.slots[mine[0]].token - 1 if stale else self.slots[mine[0]].token) if mine else None
            try:
                task_submit(
                    associate=people[who],
                    task_id=self.tasks[task].pk,
                    result=none_result(),
                    submission_id=uuid.uuid4(),
                    token=token,
                )
            except Conflict:
                assert not mine or stale or self.slots[mine[0]].expired
                return
            assert mine and not stale and not self.slots[mine[0]].expired
            self.slots[mine[0]].done = True
            self.annotations += 1

        @rule(who=st.integers(0, 2), task=st.integers(0, TASKS - 1))
        def release(self, who, task):
            mine = self.held_by(who, task)
            try:
                task_release(associate=people[who], task_id=self.tasks[task].pk, reason="skip")
            except Conflict:
                assert not mine
                return
            assert mine
            slot = self.slots[mine[0]]
            slot.holder, slot.token, slot.expired = None, slot.token + 1, False
            self.excluded.add((task, who))

        @rule(who=st.integers(0, 2))
        def expire(self, who):
            expire_leases(holder=people[who], state=Slot.State.OPEN)
            for pk in self.held_by(who):
                self.slots[pk].expired = True

        @invariant()
        def rows_match_the_model(self):
            rows = {
                pk: (holder, token, state)
                for pk, holder, token, state in Slot.objects.values_list("pk", "holder_id", "lease_token", "state")
            }
            for pk, s in self.slots.items():
                holder = people[s.holder].pk if s.holder is not None else None
                assert rows[pk] == (holder, s.token, "done" if s.done else "open"), (pk, s)
            assert Annotation.objects.count() == self.annotations
            assert TaskExclusion.objects.count() == len(self.excluded)

    return LeaseMachine


def test_the_lease_state_machine_matches_its_model(s001):
    people = associates(s001, 3, "m")
    queue = work_queue(s001, *people)
    run_state_machine_as_test(
        make_machine(people, queue),
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
