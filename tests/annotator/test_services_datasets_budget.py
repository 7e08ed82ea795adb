"""A dataset build has a time budget (DATASET_BUILD_TIMEOUT_S): past it the build fails with
a clear reason instead of holding the exports worker forever."""

import itertools

import pytest
from django.core.files.storage import default_storage

from annotator.models import Dataset
from annotator.services import datasets
from annotator.services.datasets import dataset_build, dataset_create, dataset_retry
from tests.annotator.labelling import event_label


@pytest.fixture
def dataset(s001, alice, carol, monkeypatch):
    for _ in range(5):
        event_label(store=s001, associate=alice)
    monkeypatch.setitem(datasets.BATCH, "jsonl", 2)  # three batches, each a budget check
    return dataset_create(name="five", format="jsonl", filters={}, by=carol)


@pytest.fixture
def clock(monkeypatch):
    """A clock that moves 25 s each time the build looks at it."""
    ticks = itertools.count(0, 25)
    monkeypatch.setattr(datasets, "_clock", lambda: next(ticks))


def test_a_build_past_its_time_budget_fails_with_a_clear_reason(dataset, settings, clock):
    settings.DATASET_BUILD_TIMEOUT_S = 60

    failed = dataset_build(dataset_id=dataset.pk)

    assert failed.status == "failed"
    assert "longer than its time budget of 60 s" in failed.error
    assert "DATASET_BUILD_TIMEOUT_S" in failed.error
    assert failed.running_until is None and failed.finished_at is not None
    assert not failed.file
    assert not default_storage.exists(f"datasets/{dataset.pk}.jsonl")


def test_a_build_within_its_time_budget_is_ready(dataset, settings, clock):
    settings.DATASET_BUILD_TIMEOUT_S = 1000
    assert dataset_build(dataset_id=dataset.pk).status == "ready"


def test_a_timed_out_build_can_be_retried_with_a_fresh_budget(dataset, settings, clock, carol):
    settings.DATASET_BUILD_TIMEOUT_S = 60
    failed = dataset_build(dataset_id=dataset.pk)
    settings.DATASET_BUILD_TIMEOUT_S = 1000
    dataset_retry(dataset=failed, by=carol)
    rebuilt = dataset_build(dataset_id=dataset.pk)
    assert (rebuilt.status, rebuilt.attempts) == ("ready", 2)
    assert Dataset.objects.get(pk=dataset.pk).error == ""
