"""Redaction of uploads (on the redaction worker), on real video made here: a high-contrast
region under a `redact` box and a real face photo (scikit-image's astronaut) are obscured in
every stored frame."""

import io
import json

import av
import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from skimage.data import astronaut

from annotator.models import Snippet, Task
from tests.annotator.clips import files_under
from tests.annotator.redacting import run_redactions
from tests.conftest import token_client

URL = "/api/v1/snippets/"
W, H, FPS, FRAMES = 320, 240, 10, 20
BOX = (100, 80, 64, 48)  # x, y, w, h


def _background(w: int, h: int) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w]
    return np.stack([(xs * 255 // w), (ys * 255 // h), np.full_like(xs, 120)], axis=-1).astype(np.uint8)


def _checker(w: int, h: int, cell: int = 4) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w]
    value = (((xs // cell) + (ys // cell)) % 2 * 255).astype(np.uint8)
    return np.stack([value] * 3, axis=-1)


def encode(frames: list[np.ndarray], fps: int = FPS) -> bytes:
    out = io.BytesIO()
    h, w = frames[0].shape[:2]
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "12"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def decode(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def checker_clip() -> tuple[bytes, list[np.ndarray]]:
    x, y, w, h = BOX
    frames = []
    for _ in range(FRAMES):
        image = _background(W, H)
        image[y : y + h, x : x + w] = _checker(w, h)
        frames.append(image)
    return encode(frames), frames


def face_clip() -> tuple[bytes, list[np.ndarray]]:
    face = astronaut()[0:300, 100:400]  # her face (at 75, 64, 101x101 in this crop) and shoulders
    w, h = 640, 360
    frames = []
    for i in range(FRAMES):
        image = _background(w, h)
        x, y = 150 + 4 * i, 30
        image[y : y + 300, x : x + 300] = face
        frames.append(image)
    return encode(frames), frames


def region(image: np.ndarray, box) -> np.ndarray:
    x, y, w, h = box
    return image[y : y + h, x : x + w].astype(float)


@pytest.fixture
def cv(s001_integration):
    return token_client(s001_integration)


def post(client, data: bytes, **fields):
    """The upload, then the redaction worker's run (tests/annotator/redacting.py)."""
    response = upload(client, data, **fields)
    run_redactions()
    return response


def upload(client, data: bytes, **fields):
    body = {
        "file": SimpleUploadedFile("clip.mp4", data, content_type="video/mp4"),
        "store": "S001",
        "camera": "C01",
        "external_id": "snip-r",
        "started_at": "2026-11-24T10:03:11+01:00",
        **fields,
    }
    return client.post(URL, body, format="multipart")


def stored(snippet_id) -> bytes:
    snippet = Snippet.objects.get(pk=snippet_id)
    with default_storage.open(snippet.file.name, "rb") as f:
        return f.read()


def test_a_redact_box_is_obscured_on_every_frame_of_its_range_and_nowhere_else(cv, s001, media):
    data, originals = checker_clip()
    redact = [{"frames": [5, 14], "box": list(BOX)}]
    response = post(cv, data, redact=json.dumps(redact))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["redactions"] == [{"frames": [5, 14], "box": list(BOX), "source": "request"}]
    assert cv.get(f"{URL}{body['id']}/").json()["redactions"][0] == body["redactions"][0]
    frames = decode(stored(body["id"]))
    assert len(frames) == FRAMES
    x, y, w, h = BOX
    outside = np.ones((H, W), dtype=bool)
    outside[y - 12 : y + h + 12, x - 12 : x + w + 12] = False
    for i, (got, original) in enumerate(zip(frames, originals, strict=True)):
        before, after = region(original, BOX), region(got, BOX)
        if 5 <= i <= 14:
            assert after.var() < before.var() / 20, i
            # Nothing of the checkerboard survives: far from every original pixel.
            assert np.abs(after - before).mean() > 60, i
        else:
            assert after.var() > before.var() / 2, i
        assert np.abs(got.astype(float) - original)[outside].mean() < 4, i


def test_a_face_is_found_and_obscured_without_any_redact_box(cv, s001, media):
    data, originals = face_clip()
    response = post(cv, data)
    assert response.status_code == 201, response.content
    assert response.json()["redactions"] == []  # faces are found on the worker
    redactions = cv.get(f"{URL}{response.json()['id']}/").json()["redactions"]
    assert redactions and {r["source"] for r in redactions} == {"face"}
    frames = decode(stored(response.json()["id"]))
    assert len(frames) == FRAMES
    for i, (got, original) in enumerate(zip(frames, originals, strict=True)):
        x = 150 + 4 * i
        eyes = (x + 85, 104, 80, 80)  # her face in this frame (the detector finds it at +75, 94, 101)
        assert region(got, eyes).var() < region(original, eyes).var() / 5, i


def test_the_upload_bytes_are_never_stored(cv, s001, media):
    data, _ = checker_clip()
    response = post(cv, data, redact=json.dumps([{"frames": [0, FRAMES - 1], "box": list(BOX)}]))
    assert response.status_code == 201
    blobs = [p.read_bytes() for p in files_under(media)]
    assert data not in blobs
    # Neither the upload's encoded slices: no 64-byte run of the upload's payload is stored.
    payload = data[len(data) // 2 : len(data) // 2 + 64]
    assert not any(payload in blob for blob in blobs)


@pytest.mark.parametrize(
    ("redact", "field"),
    [
        ("[{", "redact"),
        ('{"frames": [0, 1]}', "redact"),
        (json.dumps([{"frames": [0, 1], "box": [300, 0, 40, 10]}]), "redact[0].box"),
        (json.dumps([{"frames": [0, 1], "box": [-1, 0, 10, 10]}]), "redact[0].box"),
        (json.dumps([{"frames": [0, 1], "box": [0, 0, 0, 10]}]), "redact[0].box"),
        (json.dumps([{"frames": [0, 1], "box": [0, 0, 10.5, 10]}]), "redact[0].box"),
        (json.dumps([{"frames": [9, 3], "box": [0, 0, 10, 10]}]), "redact[0].frames"),
        (json.dumps([{"frames": [0, FRAMES], "box": [0, 0, 10, 10]}]), "redact[0].frames"),
        (json.dumps([{"frames": [0], "box": [0, 0, 10, 10]}]), "redact[0].frames"),
        (json.dumps([{"frames": [0, 1], "box": [0, 0, 10, 10]}] * 1001), "redact"),
        (json.dumps(["x"]), "redact[0]"),
    ],
)
def test_bad_redact_input_is_refused_and_nothing_is_stored(cv, s001, media, redact, field):
    data, _ = checker_clip()
    response = post(cv, data, redact=redact)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert Snippet.objects.count() == 0
    assert Task.objects.count() == 0
    assert files_under(media) == []


def test_a_clip_that_cannot_be_redacted_in_time_fails_and_nothing_of_it_is_kept(cv, s001, media, settings):
    settings.SNIPPET_REDACT_TIMEOUT_S = 0
    data, _ = checker_clip()
    response = post(cv, data, annotate="true")
    assert response.status_code == 201, response.content
    detail = cv.get(f"{URL}{response.json()['id']}/").json()
    assert detail["status"] == "failed"
    assert "could not be redacted within 0 s" in detail["failure"]
    assert detail["redactions"] == []
    assert Task.objects.get().status == Task.Status.CANCELLED
    assert files_under(media) == []
