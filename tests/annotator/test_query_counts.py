"""Round trips of the hot work endpoints, pinned.

Counted with a token alice_api, as the claim benchmark drives the API. Inside a test, each
transaction shows up as a SAVEPOINT and a RELEASE (in production: BEGIN and COMMIT). Per
request, the same on PostgreSQL and SQLite (one engine, in the ORM; SQLite takes no feed lock):

- next: token + user + roles (1), then in a transaction: the associate's user lock with
  their queues and held slots (1), the SKIP LOCKED select of the head slot with its task (1)
  and the conditional UPDATE that leases it (1): 6. Resuming a held task: the same, the
  select being of their held slot.
- heartbeat: token (1), in a transaction: their slot locked (1), the fenced UPDATE (1): 5.
- submit of a kind with an on_submit hook (here one that does nothing): token (1), in a
  transaction: the task locked with their slot's state (1), the fenced slot UPDATE (1), the
  annotation (1), the task's count (1): 7, plus the hook's own. A snippet's hook records its
  label: the feed lock (1) and the INSERT (1): 9. With `next`: + 5 (a claim).
"""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token

from annotator import kinds
from annotator.models import Annotation, Slot
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from catalog import roles
from catalog.models import StoreAccess
from infra.errors import LoupeError
from tests.annotator.work import add_tasks, associates, none_result, work_queue  # noqa: F401
from tests.conftest import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/tasks/next/"
LIMITS = {"next": 6, "resume": 6, "heartbeat": 5, "submit": 7, "submit_next": 12, "snippet_submit": 9}


def limit(name: str) -> int:
    return LIMITS[name]


def url(task_id, action: str) -> str:
    return f"/api/v1/tasks/{task_id}/{action}/"


def submit_body(**extra) -> dict:
    return {"result": none_result(), "submission_id": str(uuid.uuid4())} | extra


@pytest.fixture
def probe_kind(monkeypatch):
    """A kind whose result is anything and whose on_submit does nothing: the engine alone."""
    kind = kinds.TaskKind(
        name="query_probe",
        label="Probe",
        validate_result=lambda task, result: result,
        on_submit=lambda task, annotation: None,
    )
    monkeypatch.setitem(kinds._registry, kind.name, kind)
    return kind


@pytest.fixture
def alice_api(s001, alice):
    queue = work_queue(s001, alice)
    add_tasks(queue, 4)
    return token_client(alice)


@pytest.fixture
def alice_probe_api(s001, alice, probe_kind):
    queue = work_queue(s001, alice, kind=probe_kind.name, name="Probe")
    add_tasks(queue, 4, payload={})
    return token_client(alice)


def test_next_claims_in_pinned_round_trips(alice_api, django_assert_max_num_queries):
    with django_assert_max_num_queries(limit("next")):
        response = alice_api.post(NEXT, {}, format="json")
    assert response.status_code == 200


def test_next_resumes_in_pinned_round_trips(alice_api, django_assert_max_num_queries):
    first = alice_api.post(NEXT, {}, format="json").json()
    with django_assert_max_num_queries(limit("resume")):
        again = alice_api.post(NEXT, {}, format="json").json()
    assert (again["task"]["id"], again["token"]) == (first["task"]["id"], first["token"])


def test_heartbeat_in_pinned_round_trips(alice_api, django_assert_max_num_queries):
    lease = alice_api.post(NEXT, {}, format="json").json()
    with django_assert_max_num_queries(limit("heartbeat")):
        response = alice_api.post(url(lease["task"]["id"], "heartbeat"), {"token": lease["token"]}, format="json")
    assert response.status_code == 200
    assert response.json()["lease_expires_at"] >= lease["lease_expires_at"]


def test_submit_in_pinned_round_trips(alice_probe_api, django_assert_max_num_queries):
    lease = alice_probe_api.post(NEXT, {}, format="json").json()
    with django_assert_max_num_queries(limit("submit")):
        response = alice_probe_api.post(
            url(lease["task"]["id"], "submit"), submit_body(token=lease["token"]), format="json"
        )
    assert response.status_code == 200


def test_a_snippet_submit_in_pinned_round_trips(alice_api, django_assert_max_num_queries):
    lease = alice_api.post(NEXT, {}, format="json").json()
    with django_assert_max_num_queries(limit("snippet_submit")):
        response = alice_api.post(url(lease["task"]["id"], "submit"), submit_body(token=lease["token"]), format="json")
    assert response.status_code == 200


def test_submit_with_next_in_pinned_round_trips(alice_probe_api, django_assert_max_num_queries):
    lease = alice_probe_api.post(NEXT, {}, format="json").json()
    with django_assert_max_num_queries(limit("submit_next")):
        response = alice_probe_api.post(url(lease["task"]["id"], "submit"), submit_body(next=True), format="json")
    assert response.status_code == 200
    assert response.json()["next"]["task"]["id"] != lease["task"]["id"]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("resuming", [False, True], ids=["claim", "resume"])
def test_next_for_one_queue_is_one_short_transaction(alice_api, resuming):
    """As in production (no test transaction around it): the token, then BEGIN, the user
    lock with the queues, the slot's locking select, its UPDATE, COMMIT."""
    if resuming:
        alice_api.post(NEXT, {}, format="json")
    with CaptureQueriesContext(connection) as queries:
        response = alice_api.post(NEXT, {}, format="json")
    assert response.status_code == 200
    statements = [query["sql"].split(" ", 1)[0] for query in queries]
    assert statements == ["SELECT", "BEGIN", "SELECT", "SELECT", "UPDATE", "COMMIT"], statements
    assert Slot.objects.filter(holder__isnull=False).count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_snippet_submit_is_one_transaction(alice_api):
    """As in production: the token, then one transaction that locks the task, finishes the
    fenced slot, stores the annotation, counts it and records the label under the feed's lock."""
    lease = alice_api.post(NEXT, {}, format="json").json()
    with CaptureQueriesContext(connection) as queries:
        response = alice_api.post(url(lease["task"]["id"], "submit"), submit_body(token=lease["token"]), format="json")
    assert response.status_code == 200
    statements = [query["sql"].split(" ", 1)[0] for query in queries]
    assert statements == ["SELECT", "BEGIN", "SELECT", "UPDATE", "INSERT", "UPDATE", "SELECT", "INSERT", "COMMIT"]
    annotation = Annotation.objects.get(pk=response.json()["annotation"])
    assert annotation.labels.count() == 1 and annotation.slot.state == Slot.State.DONE


# What the engine must answer ---------------------------------------------------------------------


def test_the_work_cycle_through_the_api(s001, alice):
    """Claim, resume, heartbeat, submit with its label, and a retry."""
    queue = work_queue(s001, alice)
    add_tasks(queue, 2)
    api = token_client(alice)
    lease = api.post(NEXT, {}, format="json").json()
    assert api.post(NEXT, {}, format="json").json()["task"]["id"] == lease["task"]["id"]
    assert api.post(url(lease["task"]["id"], "heartbeat"), {"token": lease["token"]}, format="json").status_code == 200
    body = submit_body(token=lease["token"], result={"action": "take", "sku": "SKU-0001", "boxes": []})
    first = api.post(url(lease["task"]["id"], "submit"), body, format="json")
    again = api.post(url(lease["task"]["id"], "submit"), body, format="json")
    assert first.status_code == again.status_code == 200
    assert first.json()["annotation"] == again.json()["annotation"]
    annotation = Annotation.objects.get(pk=first.json()["annotation"])
    assert annotation.result == body["result"] and annotation.labels.count() == 1
    assert annotation.slot.state == Slot.State.DONE and annotation.task.status == "done"


def test_the_lease_answered_by_the_claim_is_the_one_stored(alice, alice_api):
    body = alice_api.post(NEXT, {}, format="json").json()
    slot = Slot.objects.select_related("task").get(holder=alice)
    assert (str(slot.task_id), slot.lease_token) == (body["task"]["id"], body["token"])
    assert dt.datetime.fromisoformat(body["lease_expires_at"].replace("Z", "+00:00")) == slot.lease_expires_at
    assert body["task"]["payload"] == slot.task.payload
    assert body["task"]["due_at"].startswith(slot.task.due_at.isoformat()[:19])


def test_the_token_query_remembers_the_roles(alice, django_assert_num_queries):
    key = Token.objects.create(user=alice).key
    with django_assert_num_queries(1):
        user, _ = roles.RoleTokenAuthentication().authenticate_credentials(key)
    assert user._loupe_roles == frozenset({roles.ASSOCIATE})
    assert roles.is_associate(user) and not roles.is_supervisor(user)


def test_an_inactive_users_token_is_refused(alice, alice_api):
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert alice_api.post(NEXT, {}, format="json").status_code == 401


def test_a_store_grant_revoked_while_holding_a_task_makes_it_404(alice, alice_api):
    lease = alice_api.post(NEXT, {}, format="json").json()
    StoreAccess.objects.filter(user=alice).delete()
    task_id = lease["task"]["id"]
    assert alice_api.post(url(task_id, "heartbeat"), {}, format="json").status_code == 404
    assert alice_api.post(url(task_id, "heartbeat"), {"token": -1}, format="json").status_code == 404
    assert alice_api.post(url(task_id, "submit"), submit_body(), format="json").status_code == 404
    assert not Annotation.objects.exists()


def test_a_bad_body_on_my_task_is_400_and_on_a_foreign_task_404(s002, alice, bob, alice_api):
    lease = alice_api.post(NEXT, {}, format="json").json()
    task_id = lease["task"]["id"]
    response = alice_api.post(url(task_id, "heartbeat"), {"token": -1}, format="json")
    assert (response.status_code, response.json()["error"]["field"]) == (400, "token")
    assert token_client(bob).post(url(task_id, "heartbeat"), {"token": -1}, format="json").status_code == 404
    assert token_client(bob).post(url(task_id, "submit"), {"result": 1}, format="json").status_code == 404


def test_a_claim_from_a_foreign_or_unknown_queue_is_404_and_from_a_drained_one_204(s001, alice, alice_api):
    other = work_queue(s001, name="Other")
    assert alice_api.post(NEXT, {"queue": str(other.pk)}, format="json").status_code == 404
    assert alice_api.post(NEXT, {"queue": str(uuid.uuid4())}, format="json").status_code == 404
    drained = work_queue(s001, alice, name="Drained")
    assert alice_api.post(NEXT, {"queue": str(drained.pk)}, format="json").status_code == 204


def test_a_retry_is_answered_before_its_result_is_looked_at(s001, alice, alice_api):
    lease = task_claim(associate=alice)
    submission_id = uuid.uuid4()
    first = task_submit(associate=alice, task_id=lease.task.pk, result=none_result(), submission_id=submission_id)
    again = task_submit(associate=alice, task_id=lease.task.pk, result={"action": "?"}, submission_id=submission_id)
    assert again.pk == first.pk
    with pytest.raises(LoupeError) as error:
        task_submit(associate=alice, task_id=lease.task.pk, result={"action": "?"}, submission_id=uuid.uuid4())
    assert error.value.status_code == 400


def test_a_submission_id_of_another_task_is_a_conflict_even_while_holding_this_one(alice, alice_api):
    submission_id = uuid.uuid4()
    first = task_claim(associate=alice)
    task_submit(associate=alice, task_id=first.task.pk, result=none_result(), submission_id=submission_id)
    second = task_claim(associate=alice)
    response = alice_api.post(
        url(second.task.pk, "submit"), submit_body(submission_id=str(submission_id)), format="json"
    )
    assert (response.status_code, response.json()["error"]["code"]) == (409, "duplicate_submission")
    assert Slot.objects.get(pk=second.slot_id).state == Slot.State.OPEN
    assert Annotation.objects.count() == 1


def test_resume_extends_by_the_lease_length_of_the_held_tasks_queue(s001, alice):
    short = work_queue(s001, alice, name="Short", lease_seconds=60)
    long = work_queue(s001, alice, name="Long", lease_seconds=3600)
    add_tasks(short, 1, due_in=30)
    (wanted,) = add_tasks(long, 1, due_in=1)
    lease = task_claim(associate=alice)
    assert lease.task == wanted
    again = task_claim(associate=alice)
    assert again.task == wanted
    assert again.expires_at - timezone.now() > dt.timedelta(minutes=50)


def test_heartbeat_extends_by_the_lease_length_of_the_tasks_queue(s001, alice):
    queue = work_queue(s001, alice, lease_seconds=45)
    add_tasks(queue, 1)
    lease = task_claim(associate=alice)
    body = token_client(alice).post(url(lease.task.pk, "heartbeat"), {}, format="json").json()
    expires = dt.datetime.fromisoformat(body["lease_expires_at"].replace("Z", "+00:00"))
    assert dt.timedelta(seconds=30) < expires - timezone.now() <= dt.timedelta(seconds=45)
    assert Slot.objects.get(pk=lease.slot_id).lease_expires_at == expires


def test_one_associate_in_several_queues_claims_the_best_head(s001, alice):
    first = work_queue(s001, alice, name="First")
    second = work_queue(s001, alice, name="Second")
    add_tasks(first, 2, due_in=30)
    (urgent,) = add_tasks(second, 1, due_in=5)
    assert task_claim(associate=alice).task == urgent


def test_a_superuser_working_a_queue_claims_heartbeats_and_submits_in_any_store(s002):
    """Superusers see every store (no store grant in the filters): they claim, extend and
    finish as the others do."""
    admin = UserFactory(username="root", is_superuser=True)
    queue = work_queue(s002, admin)  # a store the admin holds no grant to
    (task,) = add_tasks(queue, 1)
    api = token_client(admin)

    lease = api.post(NEXT, {}, format="json").json()
    assert lease["task"]["id"] == str(task.pk)
    assert api.post(url(task.pk, "heartbeat"), {"token": lease["token"]}, format="json").status_code == 200
    response = api.post(url(task.pk, "submit"), submit_body(token=lease["token"]), format="json")
    assert response.status_code == 200
    assert Slot.objects.get(task=task).state == Slot.State.DONE
    assert api.post(NEXT, {}, format="json").status_code == 204
