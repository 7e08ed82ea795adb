"""The claim under real concurrency, on PostgreSQL: threads, each with its own connection."""

import contextlib
import datetime as dt
import threading
import time
import uuid
from collections import Counter

import pytest
from django.db import connections, transaction
from django.db.models.functions import Now

from annotator.models import Annotation, Slot, Task
from annotator.services.control import task_reassign
from annotator.services.submit import task_submit
from annotator.services.work import claimable_slots, task_claim
from infra.errors import Conflict
from tests.annotator.work import add_tasks, associates, expire_leases, none_result, work_queue
from tests.conftest import session_client

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def run_threads(count: int, target) -> list[BaseException]:
    """Run target(n) in `count` threads started together; return what they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def body(n: int) -> None:
        try:
            barrier.wait()
            target(n)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


@contextlib.contextmanager
def left_uncommitted(work, *, seconds: float = 0.5):
    """Run `work()` in a transaction of another thread and keep that transaction open for
    `seconds` after it returns: the body runs meanwhile, so its statements meet `work`'s
    uncommitted rows (and wait for them). Yields what `work` returned; the transaction has
    committed when the block ends."""
    returned: list = []
    errors: list[BaseException] = []
    done = threading.Event()

    def body() -> None:
        try:
            with transaction.atomic():
                returned.append(work())
                done.set()
                time.sleep(seconds)
        except BaseException as error:
            errors.append(error)
            done.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=body)
    thread.start()
    assert done.wait(30)
    try:
        if errors:
            raise errors[0]
        yield returned[0]
    finally:
        thread.join()
    assert errors == []


def claimable_left(associate, queue) -> list[int]:
    """Slots this associate could still claim, waiting for in-flight claims to commit first
    (a plain FOR UPDATE blocks on rows other claimers hold locked)."""
    with transaction.atomic():
        return list(
            claimable_slots(associate_id=associate.pk, queue_id=queue.pk)
            .select_for_update()
            .values_list("id", flat=True)
        )


def drain(workers, queue, claimed: dict, premature: list):
    def work(n: int) -> None:
        me = workers[n]
        while True:
            lease = task_claim(associate=me, queue=queue)
            if lease is None:
                if left := claimable_left(me, queue):
                    premature.append((me.username, left))
                    continue
                return
            claimed.setdefault(n, []).append(lease.task.pk)
            task_submit(associate=me, task_id=lease.task.pk, result=none_result(), submission_id=uuid.uuid4())

    return work


def test_sixteen_claimers_drain_four_hundred_eighty_tasks_each_exactly_once(s001):
    workers = associates(s001, 16)
    queue = work_queue(s001, *workers)
    add_tasks(queue, 480)
    claimed: dict = {}
    premature: list = []
    errors = run_threads(16, drain(workers, queue, claimed, premature))
    assert errors == []
    assert premature == []  # nobody was told "nothing left" while work remained
    every_claim = [task_id for tasks in claimed.values() for task_id in tasks]
    assert len(every_claim) == 480
    assert len(set(every_claim)) == 480
    assert Annotation.objects.count() == 480
    assert Task.objects.filter(status=Task.Status.DONE, annotations_done=1).count() == 480
    assert not Slot.objects.exclude(state=Slot.State.DONE).exists()
    assert len(claimed) > 1  # the work was actually shared


def test_with_overlap_three_eight_claimers_give_each_task_three_distinct_annotations(s001):
    workers = associates(s001, 8)
    queue = work_queue(s001, *workers, overlap=3)
    add_tasks(queue, 60)
    premature: list = []
    errors = run_threads(8, drain(workers, queue, {}, premature))
    assert errors == []
    assert premature == []
    assert Annotation.objects.count() == 180
    per_task = Counter(Annotation.objects.values_list("task_id", flat=True))
    assert set(per_task.values()) == {3}
    distinct = Annotation.objects.values("task_id").distinct().count()
    assert distinct == 60
    pairs = set(Annotation.objects.values_list("task_id", "associate_id"))
    assert len(pairs) == 180  # never twice by the same associate
    assert Task.objects.filter(status=Task.Status.DONE).count() == 60


def test_a_lease_expiring_while_its_holder_submits_and_another_claims_has_one_winner(s001, alice):
    (bea,) = associates(s001, 1, "bea")
    queue = work_queue(s001, alice, bea)
    outcomes = Counter()
    for n in range(15):
        (task,) = add_tasks(queue, 1)
        lease = task_claim(associate=alice)
        assert lease.task == task
        # Runs out now or within a few milliseconds: while the two statements race.
        Slot.objects.filter(task=task).update(lease_expires_at=Now() + dt.timedelta(milliseconds=n % 5))
        result = {}

        def race(n: int, task=task, lease=lease, result=result) -> None:
            if n == 0:
                try:
                    task_submit(
                        associate=alice,
                        task_id=task.pk,
                        result=none_result(),
                        submission_id=uuid.uuid4(),
                        token=lease.token,
                    )
                    result["alice"] = "stored"
                except Conflict as error:
                    result["alice"] = error.code
            else:
                result["bea"] = task_claim(associate=bea)

        assert run_threads(2, race) == []
        if result["alice"] == "stored":
            assert result["bea"] is None
        else:
            # Her lease ran out before her submit: bea took the slot, or claimed before it ran
            # out (nothing then) and takes it now.
            assert result["alice"] == "lease_lost"
            assert (result["bea"] or task_claim(associate=bea)).task == task
            task_submit(associate=bea, task_id=task.pk, result=none_result(), submission_id=uuid.uuid4())
        assert Annotation.objects.filter(task=task).count() == 1
        outcomes[result["alice"]] += 1
    assert sum(outcomes.values()) == 15


def test_one_associate_in_two_tabs_gets_one_task_and_stores_one_annotation(s001, alice):
    queue = work_queue(s001, alice)
    add_tasks(queue, 5)
    tabs = [session_client(alice), session_client(alice)]
    leases: dict = {}
    errors = run_threads(2, lambda n: leases.__setitem__(n, tabs[n].post("/api/v1/tasks/next/", {}, format="json")))
    assert errors == []
    assert leases[0].status_code == leases[1].status_code == 200
    task_id = leases[0].json()["task"]["id"]
    assert leases[1].json()["task"]["id"] == task_id
    assert Slot.objects.filter(holder=alice).count() == 1

    submits: dict = {}

    def submit(n: int) -> None:
        body = {"result": none_result(), "submission_id": str(uuid.uuid4())}
        submits[n] = tabs[n].post(f"/api/v1/tasks/{task_id}/submit/", body, format="json").status_code

    assert run_threads(2, submit) == []
    assert sorted(submits.values()) == [200, 409]
    assert Annotation.objects.count() == 1


def test_one_associate_claiming_from_eight_tabs_at_once_holds_one_task(s001, alice):
    """Racing tabs of one associate: the claim's user lock makes them take turns, and each
    later tab resumes the first one's task (the unique `slot_one_held_per_queue` is the
    backstop that would turn a second lease back into a resume)."""
    queue = work_queue(s001, alice)
    add_tasks(queue, 6)  # the last rounds have fewer open slots than tabs: locked ones are skipped
    for _ in range(5):
        leases: dict = {}
        errors = run_threads(8, lambda n, leases=leases: leases.__setitem__(n, task_claim(associate=alice)))
        assert errors == []
        assert len({(lease.slot_id, lease.task.pk) for lease in leases.values()}) == 1
        assert Slot.objects.filter(holder=alice, state=Slot.State.OPEN).count() == 1
        (task_id,) = {lease.task.pk for lease in leases.values()}
        task_submit(associate=alice, task_id=task_id, result=none_result(), submission_id=uuid.uuid4())
    assert Annotation.objects.filter(associate=alice).count() == 5


def test_a_tab_claiming_while_another_tab_leases_the_last_task_gets_that_task(s001, alice):
    """One open slot; one tab of alice's has leased it, not yet committed, when another tab
    claims. The second claim waits for the first tab's user lock and then resumes its task
    instead of answering 204."""
    queue = work_queue(s001, alice)
    (task,) = add_tasks(queue, 1)
    with left_uncommitted(lambda: task_claim(associate=alice)) as first_tab:
        second_tab = task_claim(associate=alice)
    assert first_tab.task == task
    assert second_tab is not None
    assert (second_tab.slot_id, second_tab.task) == (first_tab.slot_id, task)


def test_a_held_slot_taken_by_someone_else_mid_claim_leaves_the_claim_a_new_task(s001, alice):
    """Alice's lease expired; bea's claim of that slot is leased but not yet committed when
    alice claims. Alice's claim still sees the slot as hers, waits for bea's row lock, then
    finds it bea's: the resume leases nothing, and the claim gives alice another task
    instead of a 204."""
    (bea,) = associates(s001, 1, "w")
    queue = work_queue(s001, alice, bea)
    first, second = add_tasks(queue, 2)
    assert task_claim(associate=alice).task == first
    expire_leases(holder=alice)
    with left_uncommitted(lambda: task_claim(associate=bea)) as beas:
        lease = task_claim(associate=alice)
    assert beas.task == first
    assert lease is not None and lease.task == second
    assert Slot.objects.get(task=first).holder == bea
    assert list(Slot.objects.filter(holder=alice, state=Slot.State.OPEN).values_list("task", flat=True)) == [second.pk]


def test_a_reassign_racing_the_associates_own_claim_is_refused_and_changes_nothing(s001, alice, carol):
    """A supervisor's reassign while the associate's own claim is leasing a slot of the
    queue: it waits for that claim (the user lock; the unique `slot_one_held_per_queue` is
    the backstop) and answers 409 `associate_busy`, not a 500."""
    queue = work_queue(s001, alice)
    _, other = add_tasks(queue, 2)
    with left_uncommitted(lambda: task_claim(associate=alice)), pytest.raises(Conflict) as error:
        task_reassign(supervisor=carol, task_id=other.pk, associate=alice)
    assert error.value.code == "associate_busy"
    assert Slot.objects.get(task=other).holder is None
    assert Slot.objects.filter(holder=alice, state=Slot.State.OPEN).count() == 1


def test_a_reassign_to_an_associate_submitting_that_task_waits_for_the_submit(s001, alice, carol):
    """The reassign locks the associate, then the task; their submit holds the task and, at
    its commit, checks the annotation's foreign key to them. The associate's lock must not
    block that check (a deadlock, one of the two aborted)."""
    queue = work_queue(s001, alice)
    (task,) = add_tasks(queue, 1)
    task_claim(associate=alice)

    def submit():
        return task_submit(associate=alice, task_id=task.pk, result=none_result(), submission_id=uuid.uuid4())

    with left_uncommitted(submit), pytest.raises(Conflict) as error:
        task_reassign(supervisor=carol, task_id=task.pk, associate=alice)
    assert error.value.code == "task_closed"
    assert Annotation.objects.filter(task=task, associate=alice).count() == 1


def test_idempotent_submit_under_concurrent_retries(s001, alice):
    queue = work_queue(s001, alice)
    (task,) = add_tasks(queue, 1)
    task_claim(associate=alice)
    submission_id = uuid.uuid4()
    ids: list = []

    def retry(n: int) -> None:
        annotation = task_submit(associate=alice, task_id=task.pk, result=none_result(), submission_id=submission_id)
        ids.append(annotation.pk)

    assert run_threads(6, retry) == []
    assert len(set(ids)) == 1
    assert Annotation.objects.count() == 1
    assert Task.objects.get(pk=task.pk).annotations_done == 1
