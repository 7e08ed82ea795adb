"""Redaction on the worker: until it is done a snippet's task cannot be claimed and its media
are refused; the unredacted upload waits only in the holding place, is never served, and is
gone once the redaction ends, whichever way it ends."""

import datetime as dt
import io
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from annotator.models import Slot, Snippet, Task
from annotator.services.retention import snippets_media_purge
from annotator.services.snippet_redaction import (
    HOLDING_PREFIX,
    ORPHAN_AGE,
    held_orphans_delete,
    seal,
    snippet_redact,
    snippets_recover,
    unseal,
)
from annotator.synth import make_clip
from infra.errors import LoupeError
from tests.annotator.clips import files_under
from tests.annotator.redacting import run_redactions
from tests.annotator.test_api_snippets import form
from tests.conftest import token_client

URL = "/api/v1/snippets/"
CLIP = make_clip(seconds=1, fps=10, seed=11)
MEDIA = ("video", "poster", "thumbnail")


@pytest.fixture
def cv(s001_integration):
    return token_client(s001_integration)


def upload(cv, **fields) -> dict:
    response = cv.post(URL, form(data=CLIP.data, annotate="true", **fields), format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def held(media) -> list:
    return [p for p in files_under(media) if HOLDING_PREFIX in p.as_posix()]


def claim(client):
    return client.post("/api/v1/tasks/next/", {}, format="json")


def test_the_answer_says_redacting_and_the_schema_names_the_states(cv, s001, media):
    body = upload(cv)
    assert (body["status"], body["failure"], body["media_purged"]) == ("redacting", None, False)
    assert body["task_id"]
    assert cv.get(f"{URL}{body['id']}/").json() == body
    schema = cv.get("/api/schema/?format=json").json()["components"]["schemas"]
    out = schema["SnippetOut"]
    assert out["properties"]["status"]["allOf"] == [{"$ref": "#/components/schemas/SnippetStatusEnum"}]
    assert schema["SnippetStatusEnum"]["enum"] == ["redacting", "ready", "failed"]
    assert "null" in out["properties"]["failure"]["type"]
    assert {"status", "failure"} <= set(out["required"])


def test_while_redacting_the_task_is_not_claimable_and_the_media_are_refused(cv, alice, carol, s001, media):
    body = upload(cv)
    task = Task.objects.get(pk=body["task_id"])
    assert task.status == Task.Status.WAITING
    assert set(task.slots.values_list("state", flat=True)) == {Slot.State.WAITING}
    associate, supervisor = token_client(alice), token_client(carol)
    assert claim(associate).status_code == 204
    for what in MEDIA:
        response = supervisor.get(f"/media/snippets/{body['id']}/{what}")
        assert response.status_code == 409, what
        assert response.json()["error"]["code"] == "snippet_redacting"
        assert response["Cache-Control"] == "private, no-store"

    run_redactions()
    claimed = claim(associate)
    assert claimed.status_code == 200, claimed.content
    assert claimed.json()["task"]["id"] == body["task_id"]
    for what in MEDIA:
        assert supervisor.get(f"/media/snippets/{body['id']}/{what}").status_code == 200, what


def test_the_upload_waits_only_in_the_holding_place_and_is_gone_once_redacted(cv, s001, media):
    body = upload(cv)
    [path] = files_under(media)
    assert path.relative_to(media).as_posix().startswith(HOLDING_PREFIX)
    # Sealed: not one 64-byte run of the clip is in the held file; the worker's key opens it.
    held_bytes = path.read_bytes()
    assert not any(CLIP.data[at : at + 64] in held_bytes for at in range(0, len(CLIP.data) - 64, 64))
    opened = io.BytesIO()
    unseal(uuid.UUID(body["id"]), io.BytesIO(held_bytes), opened)
    assert opened.getvalue() == CLIP.data
    snippet = Snippet.objects.get(pk=body["id"])
    assert (snippet.file.name, snippet.poster.name, snippet.thumbnail.name) == ("", "", "")

    run_redactions()
    snippet.refresh_from_db()
    assert (snippet.status, snippet.holding) == (Snippet.Status.READY, "")
    assert held(media) == []
    assert sorted(p.relative_to(media).as_posix() for p in files_under(media)) == sorted(
        [snippet.file.name, snippet.poster.name, snippet.thumbnail.name]
    )
    assert all(p.read_bytes() != CLIP.data for p in files_under(media))


def test_the_held_upload_is_never_served(cv, carol, s001, media, client):
    body = upload(cv)
    name = Snippet.objects.get(pk=body["id"]).holding
    supervisor = token_client(carol)
    for what in MEDIA:
        response = supervisor.get(f"/media/snippets/{body['id']}/{what}")
        assert CLIP.data[:4096] not in response.content
    # No URL maps the storage's names (nor MEDIA_URL) to files: the held name answers nothing.
    client.force_login(carol)
    for path in (f"/media/{name}", f"/{name}", f"/media/{HOLDING_PREFIX}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert CLIP.data[:4096] not in response.content


def test_a_clip_that_cannot_be_redacted_fails_and_its_held_upload_is_deleted(cv, carol, s001, media):
    body = upload(cv)
    snippet = Snippet.objects.get(pk=body["id"])
    # Probed fine at upload, but not decodable on the worker (a stand-in for a clip whose
    # later frames are broken).
    default_storage.delete(snippet.holding)
    broken = io.BytesIO()
    seal(snippet.pk, io.BytesIO(CLIP.data[:64] + b"\0" * 4096), broken)
    default_storage.save(snippet.holding, ContentFile(broken.getvalue()))

    run_redactions()
    detail = cv.get(f"{URL}{body['id']}/").json()
    assert detail["status"] == "failed"
    assert detail["failure"]
    assert files_under(media) == []
    assert Task.objects.get(pk=body["task_id"]).status == Task.Status.CANCELLED
    assert set(Slot.objects.filter(task_id=body["task_id"]).values_list("state", flat=True)) == {"cancelled"}
    response = token_client(carol).get(f"/media/snippets/{body['id']}/video")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "redaction_failed")


def test_a_redaction_whose_worker_died_is_queued_again_then_done(cv, s001, media):
    body = upload(cv)
    # The worker claimed it and died: its lease runs out with the snippet still redacting.
    Snippet.objects.filter(pk=body["id"]).update(
        redaction_attempts=1, redacting_until=timezone.now() - dt.timedelta(seconds=1)
    )
    DBTaskResult.objects.filter(queue_name="redaction").delete()
    assert snippets_recover() == 1
    assert snippets_recover() == 0  # queued once, not every round
    assert DBTaskResult.objects.filter(queue_name="redaction").count() == 1

    run_redactions()
    snippet = Snippet.objects.get(pk=body["id"])
    assert (snippet.status, snippet.redaction_attempts, snippet.holding) == (Snippet.Status.READY, 2, "")
    assert held(media) == []
    assert Task.objects.get(pk=body["task_id"]).status == Task.Status.OPEN


def test_a_redaction_that_stalled_every_attempt_fails_and_its_held_upload_is_deleted(cv, s001, media, settings):
    body = upload(cv)
    Snippet.objects.filter(pk=body["id"]).update(
        redaction_attempts=settings.SNIPPET_REDACT_ATTEMPTS, redacting_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert snippets_recover() == 1
    snippet = Snippet.objects.get(pk=body["id"])
    assert (snippet.status, snippet.holding) == (Snippet.Status.FAILED, "")
    assert "attempts" in snippet.failure
    assert files_under(media) == []
    assert Task.objects.get(pk=body["task_id"]).status == Task.Status.CANCELLED


def test_a_live_redaction_is_not_taken_over_and_a_done_one_is_not_redone(cv, s001, media):
    body = upload(cv)
    Snippet.objects.filter(pk=body["id"]).update(
        redaction_attempts=1, redacting_until=timezone.now() + dt.timedelta(minutes=5)
    )
    assert snippets_recover() == 0
    assert snippet_redact(snippet_id=body["id"]).status == Snippet.Status.REDACTING  # someone else's lease
    Snippet.objects.filter(pk=body["id"]).update(redacting_until=None)
    done = snippet_redact(snippet_id=body["id"])
    assert done.status == Snippet.Status.READY
    again = snippet_redact(snippet_id=body["id"])
    assert (again.file.name, again.redaction_attempts) == (done.file.name, done.redaction_attempts)
    assert len(files_under(media)) == 3


def test_a_snippet_erased_while_redacting_stores_nothing(cv, s001, media, django_capture_on_commit_callbacks):
    body = upload(cv)
    with django_capture_on_commit_callbacks(execute=True):
        snippets_media_purge(snippet_ids=[body["id"]], now=timezone.now(), builds_wait=False)
    assert files_under(media) == []
    run_redactions()
    snippet = Snippet.objects.get(pk=body["id"])
    assert snippet.media_purged_at is not None
    assert (snippet.file.name, snippet.holding) == ("", "")
    assert files_under(media) == []


def test_a_held_upload_whose_request_died_is_deleted_once_old(cv, s001, media):
    body = upload(cv)
    lost = default_storage.save(f"{HOLDING_PREFIX}lost.mp4", ContentFile(CLIP.data))
    assert held_orphans_delete() == []  # young: its request may still be committing
    later = timezone.now() + ORPHAN_AGE + dt.timedelta(minutes=1)
    assert held_orphans_delete(now=later) == [lost]
    # The snippet's own held upload stays for its redaction.
    assert [p.name for p in held(media)] == [Snippet.objects.get(pk=body["id"]).holding.rsplit("/", 1)[-1]]


@pytest.mark.parametrize(
    "damage",
    [
        lambda sealed, other: sealed[:-1],  # truncated
        lambda sealed, other: sealed[:20] + bytes([sealed[20] ^ 1]) + sealed[21:],  # one bit flipped
        lambda sealed, other: b"",  # empty
        lambda sealed, other: other,  # another snippet's held file put in its place
    ],
)
def test_a_held_file_that_is_not_what_was_sealed_for_the_snippet_is_refused(damage):
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    sealed, other = io.BytesIO(), io.BytesIO()
    seal(mine, io.BytesIO(CLIP.data), sealed)
    seal(theirs, io.BytesIO(CLIP.data), other)
    with pytest.raises(LoupeError) as caught:
        unseal(mine, io.BytesIO(damage(sealed.getvalue(), other.getvalue())), io.BytesIO())
    assert caught.value.code == "invalid_video"
