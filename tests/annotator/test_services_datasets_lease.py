"""Dataset builds that a dead worker leaves behind: the build's lease, extended after every
batch, runs out, and a later run, a retry or `datasets_recover` takes the build over; the dead
attempt, fenced on its attempt number, can write nothing afterwards."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from annotator.models import Dataset
from annotator.services import datasets
from annotator.services.datasets import dataset_build, dataset_create, dataset_retry, datasets_recover
from infra.errors import Conflict
from tests.annotator.labelling import event_label
from tests.conftest import session_client


@pytest.fixture
def dataset(s001, alice, carol):
    for _ in range(5):
        event_label(store=s001, associate=alice)
    return dataset_create(name="five", format="jsonl", filters={}, by=carol)


def killed_mid_build(dataset: Dataset, *, lease_left_s: float) -> Dataset:
    """The state a worker killed while building leaves: running, attempt 1, a lease."""
    now = timezone.now()
    Dataset.objects.filter(pk=dataset.pk).update(
        status=Dataset.Status.RUNNING,
        attempts=1,
        started_at=now - dt.timedelta(minutes=30),
        progress=0.4,
        running_until=now + dt.timedelta(seconds=lease_left_s),
    )
    return Dataset.objects.get(pk=dataset.pk)


def test_a_build_takes_a_lease_and_gives_it_up_when_done(dataset, settings, monkeypatch):
    settings.DATASET_BUILD_LEASE_S = 300
    monkeypatch.setitem(datasets.BATCH, "jsonl", 2)
    leases = []
    original = datasets.dataset_rows

    def watched(ds, **kwargs):
        for row in original(ds, **kwargs):
            leases.append(Dataset.objects.values_list("running_until", flat=True).get(pk=ds.pk))
            yield row

    monkeypatch.setattr(datasets, "dataset_rows", watched)
    before = timezone.now()
    built = dataset_build(dataset_id=dataset.pk)
    assert built.status == "ready"
    assert built.running_until is None
    assert all(lease >= before + dt.timedelta(seconds=299) for lease in leases)
    assert leases == sorted(leases) and leases[0] < leases[-1]  # extended after each batch


def test_a_later_run_takes_over_a_build_whose_lease_ran_out(dataset):
    killed_mid_build(dataset, lease_left_s=-1)
    built = dataset_build(dataset_id=dataset.pk)
    assert built.status == "ready"
    assert built.attempts == 2
    assert built.progress == 1.0


def test_a_later_run_leaves_a_live_build_alone(dataset):
    killed_mid_build(dataset, lease_left_s=60)
    again = dataset_build(dataset_id=dataset.pk)
    assert (again.status, again.attempts, again.progress) == ("running", 1, 0.4)


def test_a_stalled_build_can_be_retried_and_a_live_one_cannot(dataset, carol):
    live = killed_mid_build(dataset, lease_left_s=60)
    with pytest.raises(Conflict) as refused:
        dataset_retry(dataset=live, by=carol)
    assert refused.value.code == "not_failed"

    stalled = killed_mid_build(dataset, lease_left_s=-1)
    assert stalled.stalled
    retried = dataset_retry(dataset=stalled, by=carol)
    assert (retried.status, retried.progress, retried.running_until) == ("queued", 0.0, None)
    assert DBTaskResult.objects.filter(queue_name="exports").count() == 2
    assert dataset_build(dataset_id=dataset.pk).status == "ready"


def test_retrying_a_stalled_build_through_the_api_answers_202(dataset, carol):
    client = session_client(carol)
    url = f"/api/v1/datasets/{dataset.pk}/retry/"
    killed_mid_build(dataset, lease_left_s=60)
    assert client.post(url).status_code == 409
    killed_mid_build(dataset, lease_left_s=-1)

    response = client.post(url)

    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"


def test_the_datasets_page_offers_a_retry_for_a_stalled_build(dataset, carol, client):
    client.force_login(carol)
    killed_mid_build(dataset, lease_left_s=60)
    assert f"/datasets/{dataset.pk}/retry/" not in client.get("/datasets/").content.decode()
    killed_mid_build(dataset, lease_left_s=-1)
    assert f"/datasets/{dataset.pk}/retry/" in client.get("/datasets/").content.decode()


def test_recover_queues_stalled_builds_only(dataset, s001, carol):
    live = dataset_create(name="live", format="jsonl", filters={}, by=carol)
    killed_mid_build(live, lease_left_s=60)
    killed_mid_build(dataset, lease_left_s=-1)

    assert datasets_recover() == 1

    assert Dataset.objects.get(pk=dataset.pk).status == "queued"
    assert Dataset.objects.get(pk=live.pk).status == "running"
    assert datasets_recover() == 0
    assert dataset_build(dataset_id=dataset.pk).status == "ready"


def test_the_recover_command_queues_stalled_builds(dataset, monkeypatch):
    killed_mid_build(dataset, lease_left_s=-1)
    out = io.StringIO()

    call_command("datasets_recover", stdout=out)

    assert "Queued 1 stalled dataset builds again." in out.getvalue()
    assert Dataset.objects.get(pk=dataset.pk).status == "queued"


def test_the_dead_attempt_cannot_write_once_its_build_was_taken_over(dataset, monkeypatch):
    """A worker that was only slow (its lease ran out while it was stuck) stops at its next
    batch once another run took the build over, and leaves the new attempt's work alone."""
    monkeypatch.setitem(datasets.BATCH, "jsonl", 2)
    original = datasets.dataset_rows
    taken_over = []

    def slow_then_overtaken(ds, **kwargs):
        for i, row in enumerate(original(ds, **kwargs)):
            if i == 1 and not taken_over:
                Dataset.objects.filter(pk=ds.pk).update(running_until=timezone.now() - dt.timedelta(seconds=1))
                monkeypatch.setattr(datasets, "dataset_rows", original)
                taken_over.append(dataset_build(dataset_id=ds.pk))
            yield row

    monkeypatch.setattr(datasets, "dataset_rows", slow_then_overtaken)
    dataset_build(dataset_id=dataset.pk)

    assert taken_over[0].status == "ready" and taken_over[0].attempts == 2
    final = Dataset.objects.get(pk=dataset.pk)
    assert (final.status, final.attempts, final.sha256) == ("ready", 2, taken_over[0].sha256)


def test_the_run_that_holds_a_live_build_takes_it_back_when_it_runs_again(dataset):
    """`manage.py worker` runs a task again when a database error cut it short; that run is
    the build's own (`run_id`) and need not wait for the lease to run out. Any other run
    still leaves the live build alone."""
    killed_mid_build(dataset, lease_left_s=60)
    Dataset.objects.filter(pk=dataset.pk).update(run_id="run-1")

    other = dataset_build(dataset_id=dataset.pk, run_id="run-2")
    assert (other.status, other.attempts) == ("running", 1)

    again = dataset_build(dataset_id=dataset.pk, run_id="run-1")
    assert (again.status, again.attempts, again.progress, again.run_id) == ("ready", 2, 1.0, "run-1")
