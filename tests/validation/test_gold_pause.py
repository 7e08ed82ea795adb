"""The automatic pause (API.md v1.1): an associate whose gold accuracy is surely under the
store's floor is paused there at once; a held task can still be submitted; claims in that
store are 403 `associate_paused` while claims in their other stores go on; a supervisor
reinstates them. Both are control actions."""

import json
import threading
import uuid

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from annotator.control_trail import control_trail
from annotator.models import Annotation, AssociatePause, Slot, Task
from annotator.services.gold import associate_pause_check, associate_reinstate
from annotator.services.submit import task_submit
from annotator.services.work import AssociatePaused, task_claim
from catalog.models import ControlAction, Store, StoreAccess
from tests.annotator.work import add_tasks, none_result, work_queue
from tests.conftest import session_client, token_client
from tests.validation.gold import answer, make_gold, serve_and_answer
from tests.validation.review import pending_visit

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/tasks/next/"


def strict(store: Store, *, events: int = 2, floor: float = 0.9) -> None:
    Store.objects.filter(pk=store.pk).update(min_gold_events=events, min_gold_accuracy=floor)
    store.refresh_from_db()


def answer_gold_wrong(alice, gold):
    """Both events rejected where the truth confirms them: 2 events, 0 right."""
    return serve_and_answer(alice, gold, answer(gold.visit, {"verdict": "reject"}, {"verdict": "reject"}))


def test_a_wrong_gold_answer_after_enough_events_pauses_at_once_with_the_reason(s001, carol, alice):
    pending_visit(s001)
    gold = make_gold(s001, carol)
    strict(s001)
    answer_gold_wrong(alice, gold)
    pause = AssociatePause.objects.get(associate=alice, store=s001, reinstated_at__isnull=True)
    assert "0 of 2 events" in pause.reason and "90%" in pause.reason
    action = ControlAction.objects.get(action="associate_paused")
    assert (action.store_id, action.target, action.actor) == (s001.pk, f"user:{alice.pk}", None)
    assert action.comment == pause.reason
    response = token_client(alice).post(NEXT, {}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "associate_paused"
    home = session_client(alice).get(reverse("annotator:work")).content.decode()
    assert 'id="paused-region"' in home and "0 of 2 events" in home
    # The workbench's Start button goes back to the work home with the words.
    client = session_client(alice)
    response = client.post(reverse("annotator:claim"), follow=True)
    assert "You are paused" in response.content.decode()
    assert not Slot.objects.filter(holder=alice, state="open").exists()


def test_too_few_events_or_an_interval_reaching_the_floor_does_not_pause(s001, carol, alice, dave):
    pending_visit(s001)
    pending_visit(s001)
    gold = make_gold(s001, carol)
    strict(s001, events=3)
    answer_gold_wrong(alice, gold)  # 2 events < 3
    assert not AssociatePause.objects.exists()
    strict(s001, events=2, floor=0.5)
    serve_and_answer(dave, gold, answer(gold.visit, {"verdict": "reject"}))  # 1 of 2: ci_high 0.91 ≥ 0.5
    assert not AssociatePause.objects.exists()


def test_claims_in_their_other_stores_go_on(s001, s002, carol, alice):
    StoreAccess.objects.create(user=alice, store=s002)
    other = work_queue(s002, alice, name="North")
    (north_task,) = add_tasks(other, 1)
    pending_visit(s001)
    gold = make_gold(s001, carol)
    strict(s001)
    answer_gold_wrong(alice, gold)
    lease = task_claim(associate=alice)
    assert lease is not None and lease.task.pk == north_task.pk
    with pytest.raises(AssociatePaused):
        task_claim(associate=alice, queue_id=gold.task.queue_id)


def test_a_task_held_when_paused_is_still_submitted_and_then_nothing_more(s001, carol, alice):
    snippets = work_queue(s001, alice, name="Clips")
    add_tasks(snippets, 3)
    pending_visit(s001)
    gold = make_gold(s001, carol)
    strict(s001)
    held = task_claim(associate=alice, queue_id=snippets.pk)  # a clip, held
    answer_gold_wrong(alice, gold)  # the visit queue's first claim is gold: paused
    assert AssociatePause.objects.filter(associate=alice).exists()
    client = token_client(alice)
    # Asking for work resumes the held task (it goes on) ...
    assert client.post(NEXT, {}, format="json").json()["task"]["id"] == str(held.task.pk)
    submitted = client.post(
        f"/api/v1/tasks/{held.task.pk}/submit/",
        {"result": none_result(), "submission_id": str(uuid.uuid4()), "next": True},
        format="json",
    )
    assert submitted.status_code == 200 and submitted.json()["next"] is None
    # ... and then nothing more.
    assert client.post(NEXT, {}, format="json").status_code == 403
    assert not Slot.objects.filter(holder=alice, state="open").exists()


def test_a_supervisor_reinstates_through_the_api_and_it_is_recorded(s001, s002, carol, sam, alice, bob, api):
    pending_visit(s001)
    pending_visit(s001)
    gold = make_gold(s001, carol)
    strict(s001)
    answer_gold_wrong(alice, gold)
    url = "/api/v1/associates/alice/reinstate/"
    assert api.post(url, {}, format="json").status_code == 401
    assert token_client(alice).post(url, {}, format="json").status_code == 403
    assert token_client(sam).post(url, {}, format="json").status_code == 404  # not an associate of S002
    assert token_client(carol).post("/api/v1/associates/nobody/reinstate/", {}, format="json").status_code == 404
    assert token_client(carol).post(url, {"store": "S002"}, format="json").status_code == 404
    bad = token_client(carol).post(url, {"store": ["S001"]}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "store"
    assert AssociatePause.objects.get().reinstated_at is None
    response = token_client(carol).post(url, {"comment": "retrained"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"username": "alice", "state": "active", "reinstated": ["S001"]}
    pause = AssociatePause.objects.get()
    assert pause.reinstated_by == carol and pause.reinstated_at is not None
    action = ControlAction.objects.get(action="associate_reinstated")
    assert (action.actor, action.comment, action.target) == (carol, "retrained", f"user:{alice.pk}")
    assert token_client(alice).post(NEXT, {}, format="json").status_code == 200
    again = token_client(carol).post(url, {}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_paused"


def test_after_reinstatement_the_evidence_starts_afresh(s001, carol, alice):
    pending_visit(s001)
    gold = make_gold(s001, carol)
    strict(s001)
    answer_gold_wrong(alice, gold)
    AssociatePause.objects.update(reinstated_at=timezone.now())
    assert associate_pause_check(store=s001, associate_id=alice.pk) is None  # nothing since
    assert not AssociatePause.objects.filter(reinstated_at__isnull=True).exists()


def test_the_reinstate_button_confirms_first_and_by_store_supervisor_only(s001, s002, carol, sam, alice):
    pending_visit(s001)
    gold = make_gold(s001, carol)
    strict(s001)
    answer_gold_wrong(alice, gold)
    page = session_client(carol).get(reverse("annotator:associates")).content.decode()
    assert 'id="reinstate-alice-S001"' in page and "95 % Wilson interval" in page
    url = reverse("annotator:associate_reinstate", args=["alice"])
    assert session_client(sam).post(url, {"store": "S001", "confirm": "1"}).status_code == 404
    assert session_client(alice).post(url, {"store": "S001", "confirm": "1"}).status_code == 403
    confirm = session_client(carol).post(url, {"store": "S001"})
    assert confirm.status_code == 200 and b"Reinstate alice?" in confirm.content
    assert AssociatePause.objects.get().reinstated_at is None
    assert session_client(carol).post(url, {"store": "S001", "confirm": "1"}).status_code == 302
    assert AssociatePause.objects.get().reinstated_by == carol


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_under_concurrency_a_held_task_is_finished_but_nothing_more_is_claimed(s001, carol, alice):
    """The pausing gold submit and the submit of a task held in another queue of the store run
    at once; the held task's answer is stored, and from then on alice claims nothing there."""
    snippets = work_queue(s001, alice, name="Clips")
    add_tasks(snippets, 5)
    for _ in range(3):
        pending_visit(s001)
    gold = make_gold(s001, carol)
    strict(s001)
    held = task_claim(associate=alice, queue_id=snippets.pk)
    served = task_claim(associate=alice, queue_id=gold.task.queue_id)
    assert served.task.pk == gold.task.pk
    wrong = answer(gold.visit, {"verdict": "reject"}, {"verdict": "reject"})
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def submit(task_id, result):
        try:
            barrier.wait()
            task_submit(associate=alice, task_id=task_id, result=result, submission_id=uuid.uuid4())
        except BaseException as error:  # pragma: no cover (reported below)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=submit, args=(gold.task.pk, {"events": wrong, "missed": []})),
        threading.Thread(target=submit, args=(held.task.pk, none_result())),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Annotation.objects.filter(associate=alice).count() == 2
    assert AssociatePause.objects.filter(associate=alice, reinstated_at__isnull=True).count() == 1
    claims: list = []

    def claim(n):
        try:
            claims.append(task_claim(associate=alice))
        except AssociatePaused as paused:
            claims.append(paused)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(claims) == 4 and all(isinstance(item, AssociatePaused) for item in claims)
    assert not Slot.objects.filter(holder=alice, state="open").exists()
    assert Task.objects.get(pk=held.task.pk).status == "done"


def test_the_pause_and_the_reinstatement_read_in_words_in_the_control_trail(s001, carol, alice):
    pending_visit(s001)
    gold = make_gold(s001, carol)
    strict(s001)
    answer_gold_wrong(alice, gold)
    associate_reinstate(associate=alice, stores=[s001], by=carol)
    reinstated, paused = control_trail(store=s001)[:2]
    assert (paused.label, paused.change, paused.actor) == (
        "Paused an associate (gold accuracy) in",
        "alice: active → paused",
        "—",
    )
    assert "0 of 2 events" in paused.comment
    assert (reinstated.label, reinstated.change, reinstated.actor) == (
        "Reinstated an associate in",
        "alice: paused → active",
        "carol",
    )


def test_the_workbench_submit_that_pauses_answers_the_empty_screen_with_the_reason(s001, carol, alice):
    pending_visit(s001)
    pending_visit(s001)
    gold = make_gold(s001, carol)
    strict(s001)
    client = session_client(alice)
    assert client.post(reverse("annotator:claim")).status_code == 302
    body = {
        "result": {"events": answer(gold.visit, {"verdict": "reject"}, {"verdict": "reject"}), "missed": []},
        "submission_id": str(uuid.uuid4()),
    }
    response = client.post(
        reverse("annotator:submit", args=[gold.task.pk]),
        json.dumps(body),
        content_type="application/json",
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="wb-done"' in page and "You are paused" in page
    assert not Slot.objects.filter(holder=alice, state="open").exists()
