import pytest
from django.test import Client

from annotator.models import Dataset
from annotator.services.datasets import dataset_build, dataset_create
from tests.annotator.labelling import event_label, ingest_clip, snippet_label

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_lists_datasets_with_their_status_and_a_download_link(s001, alice, carol):
    event_label(store=s001, associate=alice)
    ready = dataset_build(dataset_id=dataset_create(name="ready one", format="csv", filters={}, by=carol).pk)
    dataset_create(name="queued one", format="jsonl", filters={}, by=carol)

    page = browser(carol).get("/datasets/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "ready one" in html and "queued one" in html
    assert f"/api/v1/datasets/{ready.pk}/download/" in html
    assert "<progress" in html and 'hx-trigger="every 1s"' in html
    assert "<script>" not in html and "style=" not in html


def test_the_live_count_follows_the_filters(s001, alice, carol):
    for _ in range(2):
        event_label(store=s001, associate=alice)
    client = browser(carol)

    assert 'data-count="2"' in client.get("/datasets/count/", {"format": "jsonl", "stores": "S001"}).content.decode()
    assert 'data-count="0"' in client.get("/datasets/count/", {"format": "coco"}).content.decode()
    bad = client.get("/datasets/count/", {"format": "csv", "kinds": "snippet"}).content.decode()
    assert "cannot hold snippet" in bad


def test_the_form_creates_a_dataset_and_shows_errors(s001, alice, carol):
    event_label(store=s001, associate=alice)
    client = browser(carol)

    created = client.post("/datasets/new/", {"name": "from the form", "format": "jsonl", "stores": ["S001"]})
    refused = client.post("/datasets/new/", {"name": "", "format": "jsonl", "stores": ["S001"]})

    assert created.status_code == 302
    dataset = Dataset.objects.get()
    assert (dataset.name, dataset.items, dataset.created_by) == ("from the form", 1, carol)
    assert refused.status_code == 400
    assert "name must be 1 to 200 characters" in refused.content.decode()


def test_a_polled_row_stops_polling_once_the_dataset_is_finished(s001, alice, carol):
    event_label(store=s001, associate=alice)
    dataset = dataset_create(name="poll", format="jsonl", filters={}, by=carol)
    client = browser(carol)
    polling = client.get(f"/datasets/{dataset.pk}/row/", HTTP_HX_REQUEST="true")
    assert polling.status_code == 200 and 'hx-trigger="every 1s"' in polling.content.decode()

    dataset_build(dataset_id=dataset.pk)

    done = client.get(f"/datasets/{dataset.pk}/row/", HTTP_HX_REQUEST="true")
    assert done.status_code == 286
    assert "hx-trigger" not in done.content.decode() and "Download" in done.content.decode()


def test_a_failure_shows_its_reason_and_a_retry_button_that_queues_it_again(s001, alice, carol):
    snippet, clip = ingest_clip(s001, external_id="clip-ui", reuse_redaction=True)
    snippet_label(store=s001, associate=alice, snippet=snippet, boxes=clip.boxes[:2])
    dataset = dataset_create(name="broken", format="coco", filters={}, by=carol)
    snippet.file.storage.delete(snippet.file.name)
    dataset_build(dataset_id=dataset.pk)
    client = browser(carol)

    row = client.get(f"/datasets/{dataset.pk}/row/", HTTP_HX_REQUEST="true").content.decode()
    assert "failed" in row and "S001/clip-ui" in row and "Retry" in row

    retried = client.post(f"/datasets/{dataset.pk}/retry/", HTTP_HX_REQUEST="true")

    assert retried.status_code == 200 and 'data-status="queued"' in retried.content.decode()
    assert Dataset.objects.get().status == "queued"


def test_associates_and_other_stores_supervisors_see_no_dataset(s001, alice, carol, sam):
    event_label(store=s001, associate=alice)
    dataset = dataset_create(name="secret", format="jsonl", filters={}, by=carol)
    assert browser(alice).get("/datasets/").status_code == 403  # signed in, not a supervisor (catalog.gates)
    assert "secret" not in browser(sam).get("/datasets/").content.decode()
    assert browser(sam).get(f"/datasets/{dataset.pk}/row/").status_code == 404
    assert browser(sam).post(f"/datasets/{dataset.pk}/retry/").status_code == 404
    assert browser(sam).get("/datasets/count/", {"stores": "S001"}).status_code == 404
    assert browser(sam).post("/datasets/new/", {"name": "x", "format": "jsonl", "stores": ["S001"]}).status_code == 404
    assert Dataset.objects.count() == 1
