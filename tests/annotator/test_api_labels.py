"""The labels feed: every snippet annotation (and validated visit event) as a label, served
oldest first by commit, with a signed cursor that never skips or repeats one."""

import threading
import uuid

import psycopg2
import pytest
from django.db import connection, transaction

from annotator.models import Label
from annotator.services.labels import FEED_LOCK, LabelIn, cursor_encode, label_record
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from tests.annotator.work import add_tasks, work_queue
from tests.conftest import token_client
from tests.factories import UserFactory

URL = "/api/v1/labels/"
BOX = {"frame": 1, "label": "hand", "x": 1, "y": 2, "w": 3, "h": 4}


def annotate(associate, queue, count: int, action: str = "take") -> list:
    """Submit `count` snippet annotations through the queue engine; returns their labels."""
    add_tasks(queue, count)
    labels = []
    for _ in range(count):
        lease = task_claim(associate=associate, queue=queue)
        annotation = task_submit(
            associate=associate,
            task_id=lease.task.pk,
            result={
                "action": action,
                "sku": "SKU-0001",
                "boxes": [{"frame": 1, "label": "hand", "x": 1, "y": 2, "w": 3, "h": 4}],
            },
            submission_id=uuid.uuid4(),
        )
        labels.append(Label.objects.get(annotation=annotation))
    return labels


@pytest.fixture
def s001_queue(s001, alice):
    return work_queue(s001, alice)


@pytest.fixture
def s002_queue(s002, bob):
    return work_queue(s002, bob)


def pull(client, **params) -> list[dict]:
    """Every page from the start (or `cursor`), following `next` until a page is empty."""
    seen = []
    while True:
        body = client.get(URL, params).json()
        seen += body["results"]
        if body["next"] is None:
            return seen
        params["cursor"] = body["next"]


@pytest.mark.django_db
def test_a_snippet_annotation_becomes_a_label_with_its_provenance(s001_queue, alice, s001_integration):
    (label,) = annotate(alice, s001_queue, 1)

    body = token_client(s001_integration).get(URL).json()

    assert body["has_more"] is False
    (item,) = body["results"]
    assert item["id"] == str(label.id)
    assert (item["kind"], item["verdict"], item["store"], item["associate"]) == (
        "snippet",
        "annotated",
        "S001",
        alice.pk,
    )
    assert item["task"] == str(label.task_id)
    assert item["annotation"] == str(label.annotation_id)
    assert item["human"]["action"] == "take"
    assert item["predicted"] == []
    assert item["provenance"]["purpose"] == "review"
    assert body["next"]


@pytest.mark.django_db
def test_pages_come_oldest_first_and_every_label_once(s001_queue, alice, s001_integration):
    labels = annotate(alice, s001_queue, 7)
    client = token_client(s001_integration)

    first = client.get(URL, {"limit": 3}).json()
    assert [item["id"] for item in first["results"]] == [str(label.id) for label in labels[:3]]
    assert first["has_more"] is True

    assert [item["id"] for item in pull(client, limit=3)] == [str(label.id) for label in labels]


@pytest.mark.django_db
def test_the_feed_is_stable_while_new_labels_arrive(s001_queue, alice, s001_integration):
    labels = annotate(alice, s001_queue, 4)
    client = token_client(s001_integration)

    page = client.get(URL, {"limit": 3}).json()
    labels += annotate(alice, s001_queue, 2)  # arrive between two fetches
    rest = pull(client, limit=3, cursor=page["next"])
    # The pipeline keeps the last cursor and comes back later for the newest.
    last = client.get(URL, {"limit": 3, "cursor": page["next"]}).json()
    while last["has_more"]:
        last = client.get(URL, {"limit": 3, "cursor": last["next"]}).json()
    labels += annotate(alice, s001_queue, 1)
    later = client.get(URL, {"cursor": last["next"]}).json()

    served = [item["id"] for item in page["results"] + rest]
    assert served == [str(label.id) for label in labels[:6]]
    assert [item["id"] for item in later["results"]] == [str(labels[6].id)]


@pytest.mark.django_db
def test_an_empty_page_has_no_next_and_the_same_cursor_works_later(s001_queue, alice, s001_integration):
    annotate(alice, s001_queue, 1)
    client = token_client(s001_integration)
    cursor = client.get(URL).json()["next"]

    empty = client.get(URL, {"cursor": cursor}).json()
    assert (empty["results"], empty["next"], empty["has_more"]) == ([], None, False)

    (newer,) = annotate(alice, s001_queue, 1)
    assert [item["id"] for item in client.get(URL, {"cursor": cursor}).json()["results"]] == [str(newer.id)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cursor",
    ["garbage", "WzEsIDJd", cursor_encode(1) + "x", cursor_encode(1)[:-3] + "AAA"],
    # Signed cursors carry a timestamp: fixed ids, so every xdist worker collects the same tests.
    ids=["garbage", "not-signed", "signed-then-appended", "signature-altered"],
)
def test_a_tampered_cursor_is_refused(s001_queue, alice, s001_integration, cursor):
    annotate(alice, s001_queue, 1)

    response = token_client(s001_integration).get(URL, {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_cursor",
        "detail": "This cursor was not issued by this feed.",
        "field": "cursor",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "1.5"])
def test_a_limit_out_of_bounds_is_refused(s001, s001_integration, limit):
    response = token_client(s001_integration).get(URL, {"limit": limit})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "limit"


@pytest.mark.django_db
@pytest.mark.parametrize("limit", ["1", "1000"])
def test_limits_at_the_bounds_are_accepted(s001_queue, alice, s001_integration, limit):
    annotate(alice, s001_queue, 2)
    body = token_client(s001_integration).get(URL, {"limit": limit}).json()
    assert len(body["results"]) == min(int(limit), 2)


@pytest.mark.django_db
def test_callers_see_only_the_labels_of_their_stores(s001_queue, s002_queue, alice, bob, s001_integration, sam):
    mine = annotate(alice, s001_queue, 2)
    theirs = annotate(bob, s002_queue, 2)

    assert [i["id"] for i in pull(token_client(s001_integration))] == [str(label.id) for label in mine]
    assert [i["id"] for i in pull(token_client(sam))] == [str(label.id) for label in theirs]
    assert [i["id"] for i in pull(token_client(sam), store="S002")] == [str(label.id) for label in theirs]


@pytest.mark.django_db
def test_a_store_filter_narrows_to_that_store(s001, s002, s001_queue, s002_queue, alice, bob):
    both = UserFactory(username="cv-both", role="integration", stores=[s001, s002])
    annotate(alice, s001_queue, 1)
    (s002_label,) = annotate(bob, s002_queue, 1)

    assert [i["id"] for i in pull(token_client(both), store="S002")] == [str(s002_label.id)]
    assert len(pull(token_client(both))) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("store", ["S001", "S999"])
def test_a_store_not_granted_is_not_found(s001_queue, alice, sam, store):
    annotate(alice, s001_queue, 1)
    response = token_client(sam).get(URL, {"store": store})
    assert response.status_code == 404
    assert "S001 product" not in response.content.decode()


@pytest.mark.django_db
def test_associates_and_anonymous_callers_may_not_read_labels(s001, alice, api):
    assert token_client(alice).get(URL).status_code == 403
    assert api.get(URL).status_code == 401


def _label_in(**overrides) -> LabelIn:
    return LabelIn(kind=Label.Kind.SNIPPET, verdict="annotated", human={"action": "none"}, **overrides)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_label_committed_late_is_served_after_the_cursor_not_skipped(s001_queue, alice, s001_integration):
    """Transaction A inserts first (lower seq) and commits last; a reader in between must
    not get a cursor past B's label, or A's label would land behind it and be lost. (The
    reader waits FEED_WAIT for A, then serves nothing new.)"""
    (first,) = annotate(alice, s001_queue, 1)
    task, annotation = first.task, first.annotation
    client = token_client(s001_integration)
    cursor = client.get(URL).json()["next"]

    inserted, commit, done = threading.Event(), threading.Event(), threading.Event()
    late: list[Label] = []

    def transaction_a():
        try:
            with transaction.atomic():
                late.extend(label_record(task=task, annotation=annotation, items=[_label_in()]))
                inserted.set()
                commit.wait(30)
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=transaction_a)
    thread.start()
    assert inserted.wait(30)
    (early,) = label_record(task=task, annotation=annotation, items=[_label_in()])  # B commits now
    assert early.seq > late[0].seq

    while_a_runs = client.get(URL, {"cursor": cursor}).json()
    commit.set()
    assert done.wait(30)
    thread.join()
    after = client.get(URL, {"cursor": cursor}).json()

    assert (while_a_runs["results"], while_a_runs["next"]) == ([], None)
    assert [item["id"] for item in after["results"]] == [str(late[0].id), str(early.id)]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("writer_kind", ["label_record", "snippet_submit"])
def test_a_label_draws_its_seq_only_once_it_holds_the_feed_lock(s001_queue, alice, writer_kind):
    """The watermark is only sound if a writer's `seq` comes after its shared lock: a seq
    drawn before it could fall below a watermark read in between. While a reader holds the
    lock exclusively, a writer waits, and a seq drawn meanwhile is below the writer's. The
    writer: `label_record` in a transaction, or a snippet submit, which records its label
    through it."""
    (first,) = annotate(alice, s001_queue, 1)
    add_tasks(s001_queue, 1)
    lease = task_claim(associate=alice, queue=s001_queue)
    reader = psycopg2.connect(**connection.get_connection_params())
    written: list[Label] = []
    done = threading.Event()

    def writer():
        try:
            if writer_kind == "label_record":
                with transaction.atomic():
                    written.extend(label_record(task=first.task, annotation=first.annotation, items=[_label_in()]))
            else:
                result = {"action": "none", "boxes": []}
                annotation = task_submit(
                    associate=alice, task_id=lease.task.pk, result=result, submission_id=uuid.uuid4()
                )
                written.extend(Label.objects.filter(annotation_id=annotation.pk))
        finally:
            connection.close()
            done.set()

    try:
        with reader.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [FEED_LOCK])
            thread = threading.Thread(target=writer)
            thread.start()
            assert not done.wait(0.5)  # waiting for the reader's lock
            cur.execute("SELECT nextval(pg_get_serial_sequence('annotator_label', 'seq'))")
            drawn_meanwhile = cur.fetchone()[0]
            cur.execute("COMMIT")
        assert done.wait(30)
        thread.join()
    finally:
        reader.close()
    (label,) = written
    assert label.seq > drawn_meanwhile
    assert Label.objects.get(pk=label.pk).txid == label.txid > 0  # the writing transaction's id, read back
