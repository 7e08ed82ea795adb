"""The work API end to end: real URLs, the database checked afterwards."""

import json
import uuid

import pytest

from annotator.models import Annotation, Slot, TaskExclusion
from tests.annotator.work import add_tasks, associates, expire_leases, none_result, work_queue
from tests.conftest import session_client, token_client

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/tasks/next/"


def url(task_id, action: str) -> str:
    return f"/api/v1/tasks/{task_id}/{action}/"


@pytest.fixture
def queue(s001, alice):
    queue = work_queue(s001, alice)
    add_tasks(queue, 3)
    return queue


def test_next_leases_a_task_and_answers_the_contract_shape(alice, queue):
    response = token_client(alice).post(NEXT, {}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"task", "lease_expires_at", "token"}
    assert set(body["task"]) == {"id", "kind", "queue", "due_at", "payload"}
    assert body["task"]["queue"] == str(queue.pk)
    assert body["task"]["kind"] == "snippet_annotation"
    assert Slot.objects.get(holder=alice).task_id == uuid.UUID(body["task"]["id"])


def test_next_again_returns_the_same_task(alice, queue):
    client = session_client(alice)
    first = client.post(NEXT, {}, format="json").json()
    again = client.post(NEXT, {"queue": str(queue.pk)}, format="json").json()
    assert again["task"]["id"] == first["task"]["id"]


def test_next_answers_204_when_nothing_is_available(s001, alice):
    work_queue(s001, alice)
    response = token_client(alice).post(NEXT, {}, format="json")
    assert response.status_code == 204


def test_next_from_a_queue_the_associate_is_not_in_is_404(s001, alice, queue):
    other = work_queue(s001, name="Other")
    client = token_client(alice)
    assert client.post(NEXT, {"queue": str(other.pk)}, format="json").status_code == 404
    assert client.post(NEXT, {"queue": str(uuid.uuid4())}, format="json").status_code == 404
    response = client.post(NEXT, {"queue": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "queue"


def test_the_work_api_is_for_associates_and_supervisors(api, carol, s001_integration, queue):
    assert api.post(NEXT, {}, format="json").status_code == 401
    # A supervisor claims escalations through it; carol is in no escalation queue: nothing.
    assert token_client(carol).post(NEXT, {}, format="json").status_code == 204
    assert token_client(s001_integration).post(NEXT, {}, format="json").status_code == 403


def test_tasks_of_another_store_are_404(alice, bob, queue):
    task_id = token_client(alice).post(NEXT, {}, format="json").json()["task"]["id"]
    client = token_client(bob)
    assert client.post(NEXT, {}, format="json").status_code == 204
    for action in ("heartbeat", "submit", "release"):
        assert client.post(url(task_id, action), {}, format="json").status_code == 404
    assert client.post(url(uuid.uuid4(), "heartbeat"), {}, format="json").status_code == 404
    assert client.post(url("not-a-uuid", "heartbeat"), {}, format="json").status_code == 404


def test_a_valid_submit_for_a_task_of_another_store_is_404_and_stores_nothing(alice, bob, queue):
    """The body is fine, so only the submit's own read of the task, within the caller's
    stores, stands between bob and alice's task."""
    lease = token_client(alice).post(NEXT, {}, format="json").json()
    body = {"result": {"action": "none", "boxes": []}, "submission_id": str(uuid.uuid4()), "token": lease["token"]}
    assert token_client(bob).post(url(lease["task"]["id"], "submit"), body, format="json").status_code == 404
    assert not Annotation.objects.exists()
    assert Slot.objects.get(task_id=lease["task"]["id"]).state == Slot.State.OPEN


def test_a_submit_of_a_task_someone_else_holds_is_409_and_stores_nothing(s001, alice, queue):
    """Same store, same queue, even alice's fencing token: only the holder's submit counts."""
    (bea,) = associates(s001, 1, "bea")
    queue.members.add(bea)
    lease = token_client(alice).post(NEXT, {}, format="json").json()
    body = {"result": {"action": "none", "boxes": []}, "submission_id": str(uuid.uuid4()), "token": lease["token"]}
    response = token_client(bea).post(url(lease["task"]["id"], "submit"), body, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "lease_lost"
    assert not Annotation.objects.exists()
    own = token_client(alice).post(url(lease["task"]["id"], "submit"), body, format="json")
    assert own.status_code == 200


def test_heartbeat_extends_and_refuses_a_lease_lost(s001, alice, queue):
    (bea,) = associates(s001, 1, "bea")
    queue.members.add(bea)
    client = token_client(alice)
    lease = client.post(NEXT, {}, format="json").json()
    response = client.post(url(lease["task"]["id"], "heartbeat"), {"token": lease["token"]}, format="json")
    assert response.status_code == 200
    assert set(response.json()) == {"lease_expires_at"}
    expire_leases(holder=alice)
    Slot.objects.exclude(holder=alice).update(state=Slot.State.CANCELLED)  # bea can only take alice's
    assert token_client(bea).post(NEXT, {}, format="json").json()["task"]["id"] == lease["task"]["id"]
    response = client.post(url(lease["task"]["id"], "heartbeat"), {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "lease_lost"


def test_submit_is_idempotent_and_can_claim_the_next_task(alice, queue):
    client = token_client(alice)
    lease = client.post(NEXT, {}, format="json").json()
    body = {"result": none_result(), "submission_id": str(uuid.uuid4()), "next": True}
    first = client.post(url(lease["task"]["id"], "submit"), body, format="json")
    assert first.status_code == 200
    assert Annotation.objects.filter(pk=first.json()["annotation"]).exists()
    following = first.json()["next"]
    assert following["task"]["id"] != lease["task"]["id"]
    assert Slot.objects.get(holder=alice, state=Slot.State.OPEN).task_id == uuid.UUID(following["task"]["id"])
    again = client.post(url(lease["task"]["id"], "submit"), body | {"next": False}, format="json")
    assert again.status_code == 200
    assert again.json() == {"annotation": first.json()["annotation"]}
    assert Annotation.objects.count() == 1


def test_submit_next_is_null_when_the_queue_is_drained(s001, alice):
    queue = work_queue(s001, alice)
    add_tasks(queue, 1)
    client = token_client(alice)
    task_id = client.post(NEXT, {}, format="json").json()["task"]["id"]
    body = {"result": none_result(), "submission_id": str(uuid.uuid4()), "next": True}
    assert client.post(url(task_id, "submit"), body, format="json").json()["next"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"result": {"action": "none"}}, "submission_id"),
        ({"result": {"action": "none"}, "submission_id": "123"}, "submission_id"),
        ({"result": ["none"], "submission_id": str(uuid.uuid4())}, "result"),
        ({"submission_id": str(uuid.uuid4())}, "result"),
        ({"result": {"action": "take"}, "submission_id": str(uuid.uuid4())}, "sku"),
        ({"result": {"action": "none", "boxes": [{"frame": 0}]}, "submission_id": str(uuid.uuid4())}, "boxes[0].label"),
        # Text no query can carry: refused before the catalog lookup.
        ({"result": {"action": "take", "sku": "\ud800"}, "submission_id": str(uuid.uuid4())}, "sku"),
        ({"result": {"action": "take", "sku": "SKU\x00"}, "submission_id": str(uuid.uuid4())}, "sku"),
    ],
)
def test_bad_submit_input_is_400_in_the_error_shape(alice, queue, body, field):
    client = token_client(alice)
    task_id = client.post(NEXT, {}, format="json").json()["task"]["id"]
    # json.dumps escapes what UTF-8 cannot carry (a lone surrogate) as a client would send it.
    response = client.post(url(task_id, "submit"), json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert not Annotation.objects.exists()


def test_submit_without_the_lease_is_409_and_stores_nothing(alice, queue):
    task = queue.tasks.first()
    body = {"result": none_result(), "submission_id": str(uuid.uuid4())}
    response = token_client(alice).post(url(task.pk, "submit"), body, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "lease_lost"
    assert not Annotation.objects.exists()


@pytest.mark.parametrize("next_", [False, True])
def test_a_submit_whose_lease_ran_out_is_409_even_if_nobody_took_it(alice, queue, next_):
    """API.md: no live lease → 409 `lease_lost` (with and without `next`);
    a heartbeat revives the lease while nobody has taken it, and the same body then goes
    through."""
    client = token_client(alice)
    lease = client.post(NEXT, {}, format="json").json()
    expire_leases(holder=alice)
    body = {"result": none_result(), "submission_id": str(uuid.uuid4()), "token": lease["token"], "next": next_}
    response = client.post(url(lease["task"]["id"], "submit"), body, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "lease_lost"
    assert not Annotation.objects.exists()
    assert Slot.objects.filter(holder=alice).count() == 1  # nothing else leased either
    assert (
        client.post(url(lease["task"]["id"], "heartbeat"), {"token": lease["token"]}, format="json").status_code == 200
    )
    response = client.post(url(lease["task"]["id"], "submit"), body, format="json")
    assert response.status_code == 200
    assert Annotation.objects.get().submission_id == uuid.UUID(body["submission_id"])


@pytest.mark.parametrize("path", [NEXT, "submit", "heartbeat", "release"])
def test_a_body_nested_too_deeply_is_400_malformed_and_changes_nothing(alice, queue, path):
    client = token_client(alice)
    task_id = client.post(NEXT, {}, format="json").json()["task"]["id"]
    before = list(Slot.objects.values_list("pk", "holder_id", "lease_token", "lease_expires_at", "state"))
    body = "[" * 100_000 + "]" * 100_000
    response = client.post(path if path == NEXT else url(task_id, path), body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"
    assert list(Slot.objects.values_list("pk", "holder_id", "lease_token", "lease_expires_at", "state")) == before
    assert not Annotation.objects.exists()


def test_release_frees_the_task_and_it_is_not_offered_again(alice, queue):
    client = token_client(alice)
    task_id = client.post(NEXT, {}, format="json").json()["task"]["id"]
    response = client.post(url(task_id, "release"), {"reason": "blurry video"}, format="json")
    assert response.status_code == 200
    exclusion = TaskExclusion.objects.get(user=alice)
    assert (str(exclusion.task_id), exclusion.reason) == (task_id, "blurry video")
    assert client.post(NEXT, {}, format="json").json()["task"]["id"] != task_id
    assert client.post(url(task_id, "release"), {"reason": ""}, format="json").status_code == 409


def test_release_reason_is_required_and_bounded(alice, queue):
    client = token_client(alice)
    task_id = client.post(NEXT, {}, format="json").json()["task"]["id"]
    response = client.post(url(task_id, "release"), {"reason": "x" * 501}, format="json")
    assert (response.status_code, response.json()["error"]["field"]) == (400, "reason")
    response = client.post(url(task_id, "release"), {}, format="json")
    assert (response.status_code, response.json()["error"]["field"]) == (400, "reason")


def test_lookahead_previews_without_leasing(alice, queue):
    client = token_client(alice)
    response = client.get("/api/v1/tasks/lookahead/", {"limit": 2})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2
    assert not Slot.objects.filter(holder=alice).exists()
    assert client.get("/api/v1/tasks/lookahead/", {"limit": 9}).status_code == 400


def test_the_schema_describes_the_work_api(client, alice):
    client.force_login(alice)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in ("/api/v1/tasks/next/", "/api/v1/tasks/{task_id}/submit/", "/api/v1/tasks/lookahead/"):
        assert path in schema


@pytest.mark.parametrize("action", ["heartbeat", "submit", "release"])
def test_a_token_beyond_the_bigint_range_is_400_on_token_and_changes_nothing(alice, queue, action):
    client = token_client(alice)
    lease = client.post(NEXT, {}, format="json").json()
    slot = Slot.objects.get(task_id=lease["task"]["id"], holder=alice)
    body = {"token": 2**63, "result": none_result(), "submission_id": str(uuid.uuid4()), "reason": "x"}
    response = client.post(url(lease["task"]["id"], action), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "token"
    after = Slot.objects.get(pk=slot.pk)
    assert (after.state, after.holder_id, after.lease_token) == (slot.state, slot.holder_id, slot.lease_token)
    assert not Annotation.objects.exists()
