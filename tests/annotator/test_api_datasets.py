import hashlib
import json

import pytest
from django_tasks_db.models import DBTaskResult

from annotator.models import Dataset
from annotator.services.datasets import dataset_build
from tests.annotator.labelling import event_label, ingest_clip, snippet_label
from tests.conftest import session_client, token_client

pytestmark = pytest.mark.django_db
URL = "/api/v1/datasets/"


@pytest.fixture
def labels(s001, alice):
    return [event_label(store=s001, associate=alice) for _ in range(3)]


def create(client, **body):
    # json.dumps writes a lone surrogate as the escape `\ud800`, as a client does (the test
    # client's own JSON encoding would fail on it).
    body = {"name": "May", "format": "jsonl", "filters": {"store": "S001"}} | body
    return client.generic("POST", URL, json.dumps(body), content_type="application/json")


def test_an_integration_creates_polls_and_downloads_a_dataset(s001_integration, labels):
    client = token_client(s001_integration)

    created = create(client)

    assert created.status_code == 202
    assert set(created.json()) == {"id", "status", "items"}
    assert created.json()["status"] == "queued" and created.json()["items"] == 3
    dataset_id = created.json()["id"]
    detail = client.get(f"{URL}{dataset_id}/")
    assert detail.status_code == 200
    body = detail.json()
    assert {"id", "name", "format", "status", "progress", "items", "sha256", "download_url"} <= set(body)
    assert (body["status"], body["progress"], body["download_url"]) == ("queued", 0.0, None)
    not_ready = client.get(f"{URL}{dataset_id}/download/")
    assert not_ready.status_code == 409
    assert not_ready.json()["error"]["code"] == "not_ready"

    dataset_build(dataset_id=dataset_id)

    body = client.get(f"{URL}{dataset_id}/").json()
    assert body["status"] == "ready" and body["progress"] == 1.0
    assert body["download_url"] == f"http://testserver{URL}{dataset_id}/download/"
    first = client.get(body["download_url"])
    second = client.get(body["download_url"])
    assert first.status_code == 200
    assert first["Content-Type"] == "application/x-ndjson"
    assert first["Content-Disposition"] == f'attachment; filename="May-{dataset_id[:8]}.jsonl"'
    data = b"".join(first.streaming_content)
    assert data == b"".join(second.streaming_content)
    assert hashlib.sha256(data).hexdigest() == body["sha256"] == first["X-Content-SHA256"]
    assert len(data.splitlines()) == 3


def test_a_supervisor_downloads_a_coco_zip_in_the_browser_session(s001, alice, carol):
    snippet, clip = ingest_clip(s001, external_id="clip-api", reuse_redaction=True)
    snippet_label(store=s001, associate=alice, snippet=snippet, boxes=clip.boxes[:2])
    client = session_client(carol)
    dataset_id = create(client, format="coco").json()["id"]
    dataset_build(dataset_id=dataset_id)
    response = client.get(f"{URL}{dataset_id}/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert b"".join(response.streaming_content)[:2] == b"PK"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"format": "xml"}, "format"),
        ({"filters": {"since": "2026-05-02T00:00:00Z", "until": "2026-05-01T00:00:00Z"}}, "filters.until"),
        ({"filters": {"kinds": ["audio"]}}, "filters.kinds"),
        ({"filters": {"store": "S001", "shoe_size": 9}}, "filters.shoe_size"),
        # Times Python cannot hold in UTC: 400 `overflow`, as the snippet upload answers.
        ({"format": "csv", "filters": {"until": "9999-12-31T23:59:59-14:00"}}, "filters.until"),
        ({"format": "csv", "filters": {"since": "0001-01-01T00:00:00+14:00"}}, "filters.since"),
        # Text the database cannot take: refused before the store lookup and the writes.
        ({"filters": {"store": "\ud800"}}, "filters.store"),
        ({"filters": {"stores": ["S001", "\ud800"]}}, "filters.stores"),
        ({"filters": {"store": "S001\x00"}}, "filters.store"),
        ({"filters": {"store": "S001", "model_version": "\ud800"}}, "filters.model_version"),
        ({"filters": {"store": "S001", "model_version": "m\x00"}}, "filters.model_version"),
        ({"filters": {"store": "S001", "\ud800": 1}}, "filters"),
        # DRF's message quotes the bad choice: the answer carries it escaped, not a 500.
        ({"format": "\ud800"}, "format"),
    ],
)
def test_bad_input_is_a_400_in_the_error_shape_and_creates_nothing(carol, labels, body, field):
    response = create(session_client(carol), **body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert set(response.json()["error"]) == {"code", "detail", "field"}
    assert not Dataset.objects.exists() and not DBTaskResult.objects.exists()


def test_the_widest_times_that_fit_are_accepted_as_utc(s001_integration, labels):
    response = create(
        token_client(s001_integration),
        filters={"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59+02:00"},
    )

    assert response.status_code == 202, response.content
    dataset = Dataset.objects.get()
    assert (dataset.filters["since"], dataset.filters["until"]) == ("0001-01-01T00:00:00Z", "9999-12-31T21:59:59Z")
    assert dataset.items == 3


def test_another_stores_people_get_404_and_create_nothing(s001_integration, sam, s002_integration, labels):
    dataset_id = create(token_client(s001_integration)).json()["id"]
    dataset_build(dataset_id=dataset_id)
    for outsider in (token_client(s002_integration), session_client(sam)):
        assert create(outsider).status_code == 404
        assert create(outsider, filters={"stores": ["S002", "S001"]}).status_code == 404
        for path in (f"{URL}{dataset_id}/", f"{URL}{dataset_id}/download/"):
            assert outsider.get(path).status_code == 404
        assert outsider.post(f"{URL}{dataset_id}/retry/").status_code == 404
        assert outsider.get(f"{URL}not-a-uuid/").status_code == 404
    assert Dataset.objects.count() == 1


def test_associates_and_anonymous_callers_are_refused(api, alice, labels):
    assert create(session_client(alice)).status_code == 403
    assert create(api).status_code == 401
    assert not Dataset.objects.exists()


def test_a_failed_dataset_is_retried_through_the_api(s001, alice, carol):
    snippet, clip = ingest_clip(s001, external_id="clip-lost", reuse_redaction=True)
    snippet_label(store=s001, associate=alice, snippet=snippet, boxes=clip.boxes[:2])
    client = session_client(carol)
    dataset_id = create(client, format="coco").json()["id"]
    assert client.post(f"{URL}{dataset_id}/retry/").json()["error"]["code"] == "not_failed"
    snippet.file.storage.delete(snippet.file.name)
    dataset_build(dataset_id=dataset_id)
    failed = client.get(f"{URL}{dataset_id}/").json()
    assert failed["status"] == "failed" and "clip-lost" in failed["error"]
    assert client.get(f"{URL}{dataset_id}/download/").status_code == 409

    retried = client.post(f"{URL}{dataset_id}/retry/")

    assert retried.status_code == 202
    assert retried.json()["status"] == "queued" and retried.json()["error"] == ""
