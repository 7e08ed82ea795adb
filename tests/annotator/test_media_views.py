import datetime as dt

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from annotator.models import MediaView, Slot
from annotator.synth import make_clip
from tests.annotator.redacting import ingest_redacted
from tests.factories import UserFactory

CLIP = make_clip(seconds=1, fps=10, seed=11)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def ingested(s001):
    return ingest_redacted(
        store=s001,
        camera=s001.cameras.get(code="C01"),
        external_id="snip-media",
        started_at=timezone.now(),
        upload=SimpleUploadedFile("clip.mp4", CLIP.data),
        annotate=True,
        reuse_redaction=True,
    )


def stored(snippet) -> bytes:
    """What intake stored (the redacted re-encode, never the upload's bytes): what is served."""
    with default_storage.open(snippet.file.name, "rb") as f:
        return f.read()


@pytest.fixture
def snippet(ingested):
    return ingested.snippet


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def video_url(snippet) -> str:
    return f"/media/snippets/{snippet.pk}/video"


def lease(task, user, *, minutes: float = 5) -> Slot:
    """Give `user` the task's first slot, as a claim would (lease times are stored values)."""
    slot = task.slots.order_by("index").first()
    now = timezone.now()
    slot.holder, slot.leased_at, slot.lease_expires_at = user, now, now + dt.timedelta(minutes=minutes)
    slot.save(update_fields=["holder", "leased_at", "lease_expires_at"])
    return slot


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_supervisor_of_the_store_gets_the_whole_video_privately(carol, snippet):
    response = browser(carol).get(video_url(snippet))
    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Accept-Ranges"] == "bytes"
    assert int(response["Content-Length"]) == len(stored(snippet))
    assert body(response) == stored(snippet)
    view = MediaView.objects.get()
    assert (view.user, view.snippet, view.what, view.byte_range, view.task) == (carol, snippet, "video", "", None)


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-50", -50, None), ("bytes=10-999999999", 10, None)],
)
def test_a_range_request_gets_206_and_exactly_those_bytes(carol, snippet, header, first, last):
    size = len(stored(snippet))
    start = first % size
    end = (last if last is not None else size - 1) + 1
    response = browser(carol).get(video_url(snippet), HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end - 1}/{size}"
    assert int(response["Content-Length"]) == end - start
    assert body(response) == stored(snippet)[start:end]
    assert MediaView.objects.get().byte_range == f"bytes={start}-{end - 1}"


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=-0"])
def test_an_unsatisfiable_range_is_416(carol, snippet, header):
    response = browser(carol).get(video_url(snippet), HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(stored(snippet))}"


@pytest.mark.parametrize("header", ["pages=1-2", "bytes=50-10", "bytes=0-9,20-29"])
def test_a_malformed_range_is_ignored_and_the_whole_video_served(carol, snippet, header):
    response = browser(carol).get(video_url(snippet), HTTP_RANGE=header)
    assert response.status_code == 200
    assert body(response) == stored(snippet)


def test_an_associate_without_a_lease_gets_404_and_no_audit_row(alice, snippet):
    assert browser(alice).get(video_url(snippet)).status_code == 404
    assert MediaView.objects.count() == 0


def test_an_associate_holding_a_live_lease_gets_the_video_and_the_view_names_the_task(alice, ingested):
    lease(ingested.task, alice)
    response = browser(alice).get(video_url(ingested.snippet), HTTP_RANGE="bytes=0-9")
    assert response.status_code == 206
    assert body(response) == stored(ingested.snippet)[:10]
    view = MediaView.objects.get()
    assert (view.user, view.task, view.what, view.byte_range) == (alice, ingested.task, "video", "bytes=0-9")


def test_an_expired_lease_shows_nothing(alice, ingested):
    lease(ingested.task, alice, minutes=-1)
    assert browser(alice).get(video_url(ingested.snippet)).status_code == 404


def test_a_done_slot_shows_nothing(alice, ingested):
    slot = lease(ingested.task, alice)
    slot.state = Slot.State.DONE
    slot.save(update_fields=["state"])
    assert browser(alice).get(video_url(ingested.snippet)).status_code == 404


def test_a_lease_on_a_task_without_the_snippet_shows_nothing(alice, s001, ingested):
    other = ingest_redacted(
        store=s001,
        camera=s001.cameras.get(code="C02"),
        external_id="snip-other",
        started_at=timezone.now(),
        upload=SimpleUploadedFile("other.mp4", make_clip(seconds=0.5, seed=12).data),
        annotate=True,
        reuse_redaction=True,
    )
    lease(other.task, alice)
    assert browser(alice).get(video_url(ingested.snippet)).status_code == 404
    assert browser(alice).get(video_url(other.snippet)).status_code == 200


def test_people_of_another_store_get_404(bob, sam, s002_integration, ingested):
    lease(ingested.task, bob)  # even a slot held by someone not granted the store
    for user in (bob, sam, s002_integration):
        assert browser(user).get(video_url(ingested.snippet)).status_code == 404
    assert MediaView.objects.count() == 0


def test_the_store_integration_and_a_superuser_may_view(s001_integration, snippet):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    for user in (s001_integration, admin):
        assert browser(user).get(video_url(snippet)).status_code == 200
    assert MediaView.objects.count() == 2


def test_anonymous_requests_get_401(client, snippet):
    assert client.get(video_url(snippet)).status_code == 401
    assert client.get(f"/media/snippets/{snippet.pk}/poster").status_code == 401


def test_a_headless_lease_holder_may_use_its_token(alice, ingested):
    lease(ingested.task, alice)
    token = Token.objects.create(user=alice)
    response = Client().get(video_url(ingested.snippet), HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert Client().get(video_url(ingested.snippet), HTTP_AUTHORIZATION="Token nope").status_code == 401


@pytest.mark.parametrize("what", ["poster", "thumbnail"])
def test_poster_and_thumbnail_are_private_jpegs_and_audited(carol, snippet, what):
    response = browser(carol).get(f"/media/snippets/{snippet.pk}/{what}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert response.content[:3] == b"\xff\xd8\xff"
    assert MediaView.objects.get().what == what


def test_the_payload_urls_work_for_the_lease_holder(alice, ingested):
    lease(ingested.task, alice)
    client = browser(alice)
    assert client.get(ingested.task.payload["video_url"]).status_code == 200
    assert client.get(ingested.task.payload["poster_url"]).status_code == 200
    assert MediaView.objects.filter(user=alice, task=ingested.task).count() == 2


def test_an_unknown_snippet_is_404(carol, s001):
    assert browser(carol).get("/media/snippets/00000000-0000-0000-0000-000000000000/video").status_code == 404
