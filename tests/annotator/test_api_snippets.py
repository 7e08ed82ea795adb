import json
import threading
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection

from annotator.models import Snippet, Task
from annotator.services.snippets import snippet_ingest
from annotator.synth import make_clip
from tests.annotator.clips import (
    FFCONCAT,
    HLS_PLAYLIST,
    audio_only_mp4,
    files_under,
    fragmented_mp4,
    jpeg_bytes,
    mp4_with_codec,
)
from tests.annotator.redacting import run_redactions
from tests.conftest import token_client
from tests.factories import UserFactory

URL = "/api/v1/snippets/"
CLIP = make_clip(seconds=1, fps=10, seed=7)
WEBM = make_clip(seconds=1, fps=10, seed=7, codec="vp9")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def cv(s001_integration):
    return token_client(s001_integration)


def form(data: bytes = CLIP.data, filename: str = "clip.mp4", **fields) -> dict:
    body = {
        "file": SimpleUploadedFile(filename, data, content_type="video/mp4"),
        "store": "S001",
        "camera": "C01",
        "external_id": "snip-1",
        "started_at": "2026-11-24T10:03:11+01:00",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def post(client, **kwargs):
    return client.post(URL, form(**kwargs), format="multipart")


def assert_error(response, status: int, code: str, field: str | None = None):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    if field is not None:
        assert error.get("field") == field


def assert_nothing_stored(media_root):
    assert Snippet.objects.count() == 0
    assert Task.objects.count() == 0
    assert files_under(media_root) == []


def test_a_clip_is_stored_with_its_metadata_poster_and_thumbnail(cv, s001, media_root):
    response = post(cv)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id", "external_id", "store", "camera", "started_at", "duration_s", "fps",
        "width", "height", "frame_count", "poster_url", "task_id", "redactions", "media_purged",
        "status", "failure",
    }  # fmt: skip
    assert (body["redactions"], body["media_purged"]) == ([], False)
    assert (body["status"], body["failure"]) == ("redacting", None)
    assert body["external_id"] == "snip-1"
    assert (body["store"], body["camera"]) == ("S001", "C01")
    assert (body["width"], body["height"], body["fps"], body["frame_count"]) == (320, 240, 10.0, 10)
    assert body["task_id"] is None
    assert body["poster_url"].endswith(f"/media/snippets/{body['id']}/poster")
    run_redactions()
    assert cv.get(f"{URL}{body['id']}/").json() == {**body, "status": "ready"}
    snippet = Snippet.objects.get(pk=body["id"])
    assert snippet.started_at.isoformat() == "2026-11-24T09:03:11+00:00"
    assert (snippet.container, snippet.codec) == ("mp4", "h264")
    assert snippet.file.name.startswith("snippets/") and snippet.file.name.endswith(f"/{snippet.pk}.mp4")
    # What is stored is the clip as redaction re-encoded it, never the upload's bytes.
    assert snippet.size_bytes == (media_root / snippet.file.name).stat().st_size
    assert (media_root / snippet.file.name).read_bytes() != CLIP.data
    assert (media_root / snippet.poster.name).stat().st_size > 0
    assert (media_root / snippet.thumbnail.name).stat().st_size > 0
    assert len(files_under(media_root)) == 3


def test_a_webm_vp9_clip_is_accepted_and_stored_redacted_as_h264(cv, s001, media_root):
    response = post(cv, data=WEBM.data, filename="clip.webm")
    assert response.status_code == 201, response.content
    run_redactions()
    snippet = Snippet.objects.get()
    assert (snippet.container, snippet.codec, snippet.frame_count) == ("mp4", "h264", 10)
    assert snippet.file.name.endswith(".mp4")


def test_the_same_clip_again_answers_200_with_the_same_body(cv, s001, media_root):
    first = post(cv, annotate="true")
    again = post(cv, annotate="true")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Snippet.objects.count() == 1
    assert Task.objects.count() == 1
    assert len(files_under(media_root)) == 1  # the upload, held for its redaction
    run_redactions()
    redacted = post(cv, annotate="true")
    assert redacted.status_code == 200
    assert redacted.json() == {**first.json(), "status": "ready"}
    assert len(files_under(media_root)) == 3


def test_the_same_external_id_with_other_bytes_is_a_conflict(cv, s001, media_root):
    post(cv)
    response = post(cv, data=make_clip(seconds=1, fps=10, seed=8).data)
    assert_error(response, 409, "duplicate_external_id")
    assert Snippet.objects.count() == 1
    assert len(files_under(media_root)) == 1


def test_annotate_true_queues_a_snippet_annotation_task_with_its_payload(cv, s001, media_root):
    predictions = [
        {"frame": 3, "label": "hand", "box": [10, 20, 40, 30], "score": 0.8},
        {"frame": 4, "label": "product", "sku": "SKU-0002", "box": [100, 50, 40, 60], "score": 0.55},
    ]
    response = post(cv, annotate="true", predictions=json.dumps(predictions))
    assert response.status_code == 201, response.content
    body = response.json()
    task = Task.objects.get(pk=body["task_id"])
    snippet = Snippet.objects.get(pk=body["id"])
    assert (task.kind, task.store, task.subject_id) == ("snippet_annotation", s001, snippet.pk)
    assert list(task.snippets.all()) == [snippet]
    assert task.slots.count() == task.overlap
    payload = task.payload
    assert payload["snippet"] == str(snippet.pk)
    assert (payload["width"], payload["height"], payload["fps"], payload["frame_count"]) == (320, 240, 10.0, 10)
    assert payload["predictions"] == predictions
    assert payload["video_url"] == f"/media/snippets/{snippet.pk}/video"
    assert payload["poster_url"] == f"/media/snippets/{snippet.pk}/poster"
    sla = (task.due_at - task.created_at).total_seconds()
    assert sla == pytest.approx(s001.sla_minutes * 60, abs=5)


def test_files_written_for_a_transaction_that_fails_are_removed(s001, media_root):
    with pytest.raises(IntegrityError):
        snippet_ingest(
            store=s001,
            camera=s001.cameras.get(code="C01"),
            external_id="snip-fails",
            started_at=None,  # NOT NULL: the insert fails after the files were written
            upload=SimpleUploadedFile("clip.mp4", CLIP.data),
        )
    assert Snippet.objects.count() == 0
    assert files_under(media_root) == []


def test_a_dotdot_filename_does_not_decide_where_the_file_goes(cv, s001, media_root):
    response = post(cv, filename="../../../etc/evil.mp4")
    assert response.status_code == 201, response.content
    assert "evil" not in Snippet.objects.get().holding
    run_redactions()
    snippet = Snippet.objects.get()
    assert ".." not in snippet.file.name and "evil" not in snippet.file.name
    assert all(media_root in path.parents for path in files_under(media_root.parent))


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (jpeg_bytes(), "photo.mp4"),
        (CLIP.data[: len(CLIP.data) // 2], "clip.mp4"),
        (audio_only_mp4(), "sound.mp4"),
        (b"", "empty.mp4"),
        (mp4_with_codec("mpeg4"), "mpeg4.mp4"),
        (mp4_with_codec("mjpeg"), "mjpeg.mp4"),
        (HLS_PLAYLIST, "playlist.mp4"),
        (FFCONCAT, "list.mp4"),
    ],
    ids=["renamed_jpeg", "truncated", "audio_only", "zero_bytes", "mpeg4", "mjpeg", "hls", "ffconcat"],
)
def test_a_file_that_is_not_an_accepted_video_is_refused_and_nothing_is_stored(cv, s001, media_root, data, filename):
    assert_error(post(cv, data=data, filename=filename), 400, "invalid_video", "file")
    assert_nothing_stored(media_root)


def test_a_file_over_the_byte_limit_is_too_large(cv, s001, media_root, settings):
    settings.SNIPPET_MAX_BYTES = len(CLIP.data) - 1
    assert_error(post(cv), 413, "video_too_large")
    assert_nothing_stored(media_root)


def test_a_clip_over_the_duration_limit_is_too_large(cv, s001, media_root, settings):
    settings.SNIPPET_MAX_SECONDS = 0
    assert_error(post(cv), 413, "video_too_large")
    assert_nothing_stored(media_root)


def test_a_clip_over_the_resolution_limit_is_too_large(cv, s001, media_root, settings):
    settings.SNIPPET_MAX_WIDTH = 160
    assert_error(post(cv), 413, "video_too_large")
    assert_nothing_stored(media_root)


def test_a_1440p_vp9_webm_is_too_large_not_invalid(cv, s001, media_root):
    data = make_clip(codec="vp9", seconds=0.1, fps=10, width=2560, height=1440).data
    assert_error(post(cv, data=data, filename="clip.webm"), 413, "video_too_large", "file")
    assert_nothing_stored(media_root)


def test_a_clip_of_many_tiny_frames_at_a_high_rate_is_too_large(cv, s001, media_root):
    data = make_clip(seconds=0.5, fps=1000, width=32, height=32).data
    assert_error(post(cv, data=data), 413, "video_too_large", "file")
    assert_nothing_stored(media_root)


def test_a_clip_over_the_frame_limit_is_too_large(cv, s001, media_root, settings):
    settings.SNIPPET_MAX_FRAMES = 9
    assert_error(post(cv), 413, "video_too_large", "file")
    assert_nothing_stored(media_root)


def test_a_fragmented_mp4_is_stored_with_the_frames_it_holds_not_the_one_its_header_claims(cv, s001, media_root):
    response = post(cv, data=fragmented_mp4(90, fps=30))
    assert response.status_code == 201, response.content
    assert response.json()["frame_count"] == 90
    run_redactions()
    assert (Snippet.objects.get().status, Snippet.objects.get().frame_count) == ("ready", 90)


def test_a_json_request_is_an_unsupported_media_type(cv, s001, media_root):
    response = cv.post(URL, {"store": "S001", "camera": "C01", "external_id": "x"}, format="json")
    assert_error(response, 415, "unsupported_media_type")
    assert_nothing_stored(media_root)


@pytest.mark.parametrize("missing", ["file", "store", "camera", "external_id", "started_at"])
def test_a_missing_field_is_named(cv, s001, media_root, missing):
    assert_error(post(cv, **{missing: None}), 400, "required", missing)
    assert_nothing_stored(media_root)


@pytest.mark.parametrize("started_at", ["yesterday", "2026-13-01T00:00:00Z", "2026-11-24T10:03:11"])
def test_a_bad_started_at_is_refused(cv, s001, media_root, started_at):
    response = post(cv, started_at=started_at)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "started_at"
    assert_nothing_stored(media_root)


def test_an_unknown_store_is_not_found(cv, s001, media_root):
    assert_error(post(cv, store="S999"), 404, "not_found")
    assert_nothing_stored(media_root)


def test_an_unknown_camera_is_named(cv, s001, media_root):
    assert_error(post(cv, camera="C99"), 400, "unknown_camera", "camera")
    assert_nothing_stored(media_root)


def test_a_camera_of_another_store_is_unknown(cv, s001, s002, media_root):
    s002.cameras.update(code="C77")
    assert_error(post(cv, camera="C77"), 400, "unknown_camera", "camera")
    assert_nothing_stored(media_root)


@pytest.mark.parametrize(
    ("predictions", "field"),
    [
        ("not json", "predictions"),
        ('{"frame": 1}', "predictions"),
        ('[{"frame": 1, "label": "hand", "box": [0, 0, 5, 5], "score": 0.5}, 7]', "predictions[1]"),
        ('[{"frame": 10, "label": "hand", "box": [0, 0, 5, 5], "score": 0.5}]', "predictions[0].frame"),
        ('[{"frame": "1", "label": "hand", "box": [0, 0, 5, 5], "score": 0.5}]', "predictions[0].frame"),
        ('[{"frame": 1, "label": "face", "box": [0, 0, 5, 5], "score": 0.5}]', "predictions[0].label"),
        ('[{"frame": 1, "label": "hand", "box": [300, 0, 40, 5], "score": 0.5}]', "predictions[0].box"),
        ('[{"frame": 1, "label": "hand", "box": [0, 0, 5], "score": 0.5}]', "predictions[0].box"),
        ('[{"frame": 1, "label": "hand", "box": [0, 0, 5, 5], "score": 1.5}]', "predictions[0].score"),
        (
            '[{"frame": 1, "label": "product", "sku": "SKU-9999", "box": [0, 0, 5, 5], "score": 0.5}]',
            "predictions[0].sku",
        ),
        # NaN passes every comparison and cannot be stored as JSON; a lone surrogate cannot be queried.
        ('[{"frame": 1, "label": "hand", "box": [NaN, 0, 5, 5], "score": 0.5}]', "predictions[0].box"),
        ('[{"frame": 1, "label": "hand", "box": [0, 0, Infinity, 5], "score": 0.5}]', "predictions[0].box"),
        ('[{"frame": 1, "label": "hand", "box": [0, 0, 5, 5], "score": NaN}]', "predictions[0].score"),
        (
            '[{"frame": 1, "label": "product", "sku": "\\ud800", "box": [0, 0, 5, 5], "score": 0.5}]',
            "predictions[0].sku",
        ),
        ("[" * 100_000 + "]" * 100_000, "predictions"),  # deeper than Python's JSON parser goes
    ],
)
def test_malformed_predictions_are_refused_with_their_field(cv, s001, media_root, predictions, field):
    response = post(cv, predictions=predictions)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert_nothing_stored(media_root)


def test_a_sku_of_another_store_is_unknown(cv, s001, s002, media_root):
    s002.products.filter(sku="SKU-0001").update(sku="SKU-0777")
    predictions = '[{"frame": 1, "label": "product", "sku": "SKU-0777", "box": [0, 0, 5, 5], "score": 0.5}]'
    assert_error(post(cv, predictions=predictions), 400, "unknown_sku", "predictions[0].sku")


def test_no_token_is_401(api, s001, media_root):
    assert_error(post(api), 401, "not_authenticated")
    assert_nothing_stored(media_root)


def test_a_bad_token_is_401(api, s001, media_root):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert_error(post(api), 401, "authentication_failed")
    assert_nothing_stored(media_root)


def test_a_token_of_another_store_is_404(s002_integration, s001, media_root):
    assert_error(post(token_client(s002_integration)), 404, "not_found")
    assert_nothing_stored(media_root)


def test_an_associate_token_is_403(alice, media_root):
    assert_error(post(token_client(alice)), 403, "permission_denied")
    assert_nothing_stored(media_root)


def test_a_superuser_may_post_for_any_store(s001, media_root):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert post(token_client(admin)).status_code == 201


def test_get_returns_the_same_body_to_integrations_and_supervisors_of_the_store(cv, carol, sam, s001, media_root):
    created = post(cv, annotate="true").json()
    assert cv.get(f"{URL}{created['id']}/").json() == created
    assert token_client(carol).get(f"{URL}{created['id']}/").json() == created
    assert_error(token_client(sam).get(f"{URL}{created['id']}/"), 404, "not_found")


def test_get_of_an_unknown_snippet_or_by_an_associate_is_refused(cv, alice, s001, media_root):
    created = post(cv).json()
    assert_error(cv.get(f"{URL}{uuid.uuid4()}/"), 404, "not_found")
    assert_error(cv.get(f"{URL}not-a-uuid/"), 404, "not_found")
    assert_error(token_client(alice).get(f"{URL}{created['id']}/"), 403, "permission_denied")


def test_the_schema_documents_the_snippet_endpoints(cv, s001):
    schema = cv.get("/api/schema/?format=json").json()
    assert "multipart/form-data" in schema["paths"]["/api/v1/snippets/"]["post"]["requestBody"]["content"]
    assert "/api/v1/snippets/{snippet_id}/" in schema["paths"]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_posts_store_one_snippet(s001_integration, s001, media_root):
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def send():
        try:
            client = token_client(s001_integration)
            barrier.wait(timeout=10)
            statuses.append(post(client).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 201]
    assert Snippet.objects.count() == 1
    assert len(files_under(media_root)) == 1  # the winner's held upload; the loser's was deleted
