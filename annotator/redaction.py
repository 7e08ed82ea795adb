"""Shopper privacy on uploaded clips: requested regions and detected faces are pixelated and
blurred before a single byte of the clip is stored (API.md, "Shopper privacy").

One decode pass, one encode pass. Faces are looked for on every `stride`-th frame (three times a
second) with OpenCV's bundled Haar cascades (frontal, and profile both ways) on a
grey image at most `DETECT_WIDTH` wide. A detection is held over the neighbouring sampled
frames, and two detections of one face on consecutive samples also cover the union of both
boxes over the frames between them (a linear motion between two boxes stays inside their
union), so a face is covered on the frames the detector did not look at. Frames wait in a
buffer until no later detection can reach back to them (at most `stride` frames).

Obscuring: the region (with a margin) is averaged down to blocks of at least 8 px, at most five
blocks across, scaled back and Gaussian-blurred: what remains of the original is a handful of
block means, blurred and scaled back smoothly. The clip is re-encoded as H.264 in MP4 whatever came in.
"""

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import av.error
import cv2
import numpy as np
from django.conf import settings

from annotator.media import VideoInfo, _container_of, _open, _video_stream, invalid_video, video_too_large
from infra.errors import LoupeError

MAX_REGIONS = 1000
DETECT_HZ = 3
DETECT_WIDTH = 800
# Extra room around a box, as a share of its size on each side (faces: hair, ears, chin).
FACE_MARGIN = 0.25
REQUEST_MARGIN = 0.05
_CASCADES = ("haarcascade_frontalface_default.xml", "haarcascade_profileface.xml")


@dataclass(frozen=True)
class Region:
    first: int
    last: int
    x: int
    y: int
    w: int
    h: int
    source: str  # "request" or "face"

    def as_json(self) -> dict:
        return {"frames": [self.first, self.last], "box": [self.x, self.y, self.w, self.h], "source": self.source}


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def redact_clean(*, redact: Any, info: VideoInfo) -> list[Region]:
    """Check the caller's `redact` list against the clip; 400 with `field` like `redact[3].box`."""
    if redact is None:
        return []
    if not isinstance(redact, list):
        raise LoupeError("redact must be a list.", field="redact")
    if len(redact) > MAX_REGIONS:
        raise LoupeError(f"At most {MAX_REGIONS} redact regions are accepted.", field="redact")
    regions = []
    for i, item in enumerate(redact):
        at = f"redact[{i}]"
        if not isinstance(item, dict):
            raise LoupeError("A redact region must be an object.", field=at)
        frames = item.get("frames")
        if not (isinstance(frames, list) and len(frames) == 2 and all(_int(v) for v in frames)):
            raise LoupeError("frames must be [from, to], frame numbers.", field=f"{at}.frames")
        first, last = frames
        if not 0 <= first <= last < info.frame_count:
            raise LoupeError(f"frames must satisfy 0 <= from <= to <= {info.frame_count - 1}.", field=f"{at}.frames")
        box = item.get("box")
        if not (isinstance(box, list) and len(box) == 4 and all(_int(v) for v in box)):
            raise LoupeError("box must be [x, y, w, h] in whole pixels.", field=f"{at}.box")
        x, y, w, h = box
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > info.width or y + h > info.height:
            raise LoupeError(f"box must lie inside the {info.width}x{info.height} frame.", field=f"{at}.box")
        regions.append(Region(first, last, x, y, w, h, "request"))
    return regions


def obscure(image: np.ndarray, x: int, y: int, w: int, h: int, margin: float) -> None:
    """Pixelate and blur `image[y:y+h, x:x+w]` (plus `margin`) in place."""
    height, width = image.shape[:2]
    pad_x, pad_y = round(w * margin) + 2, round(h * margin) + 2
    x0, y0 = max(0, x - pad_x), max(0, y - pad_y)
    x1, y1 = min(width, x + w + pad_x), min(height, y + h + pad_y)
    if x1 <= x0 or y1 <= y0:
        return
    roi = image[y0:y1, x0:x1]
    rw, rh = x1 - x0, y1 - y0
    block = max(8, min(rw, rh) // 5)
    small = cv2.resize(roi, (max(1, rw // block), max(1, rh // block)), interpolation=cv2.INTER_AREA)
    # Blurred while small, then scaled up smoothly: the same look as a wide blur of the
    # pixelated region at a hundredth of the cost (a blur as wide as a 1080p face took 70 ms).
    small = cv2.GaussianBlur(small, (3, 3), 0, borderType=cv2.BORDER_REPLICATE)
    image[y0:y1, x0:x1] = cv2.resize(small, (rw, rh), interpolation=cv2.INTER_LINEAR)


def _obscured(frame: av.VideoFrame, regions: list[Region]) -> av.VideoFrame:
    """A copy of a yuv420p frame with `regions` obscured in each plane (the decoder's own
    buffer is never written: later frames are predicted from it)."""
    width, height = frame.width, frame.height
    if width % 2 or height % 2:
        image = frame.to_ndarray(format="rgb24")
        for r in regions:
            obscure(image, r.x, r.y, r.w, r.h, _margin(r))
        return av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
    planes = frame.to_ndarray()  # Y rows, then U and V, each flattened to rows of `width`
    luma = planes[:height]
    quarter = height // 4
    chroma = [
        planes[height : height + quarter].reshape(height // 2, width // 2),
        planes[height + quarter :].reshape(height // 2, width // 2),
    ]
    for r in regions:
        obscure(luma, r.x, r.y, r.w, r.h, _margin(r))
        for plane in chroma:
            obscure(plane, r.x // 2, r.y // 2, (r.w + 1) // 2 + 1, (r.h + 1) // 2 + 1, _margin(r))
    return av.VideoFrame.from_ndarray(planes, format="yuv420p")


def _margin(region: Region) -> float:
    return FACE_MARGIN if region.source == "face" else REQUEST_MARGIN


class FaceDetector:
    def __init__(self, width: int, height: int):
        self.scale = min(1.0, DETECT_WIDTH / width)
        self.size = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
        self.cascades = [cv2.CascadeClassifier(cv2.data.haarcascades + name) for name in _CASCADES]

    def faces(self, frame: av.VideoFrame) -> list[tuple[int, int, int, int]]:
        """Boxes in clip pixels."""
        grey = frame.reformat(width=self.size[0], height=self.size[1], format="gray").to_ndarray()
        grey = cv2.equalizeHist(np.ascontiguousarray(grey))
        found = []
        frontal, profile = self.cascades
        for box in frontal.detectMultiScale(grey, scaleFactor=1.2, minNeighbors=5, minSize=(20, 20)):
            found.append(tuple(int(v) for v in box))
        for box in profile.detectMultiScale(grey, scaleFactor=1.2, minNeighbors=5, minSize=(20, 20)):
            found.append(tuple(int(v) for v in box))
        mirrored = cv2.flip(grey, 1)
        for x, y, w, h in profile.detectMultiScale(mirrored, scaleFactor=1.2, minNeighbors=5, minSize=(20, 20)):
            found.append((self.size[0] - int(x) - int(w), int(y), int(w), int(h)))
        s = self.scale
        return [(round(x / s), round(y / s), round(w / s), round(h / s)) for x, y, w, h in found]


def _union(a, b) -> tuple[int, int, int, int]:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return x0, y0, x1 - x0, y1 - y0


def _near(a, b) -> bool:
    """The same face on two consecutive samples: centres closer than the larger box's size."""
    ax, ay, bx, by = a[0] + a[2] / 2, a[1] + a[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2
    return abs(ax - bx) + abs(ay - by) < max(a[2], a[3], b[2], b[3])


def _face_regions(sample: int, boxes, previous: tuple[int, list], stride: int, last_frame: int) -> list[Region]:
    regions = [Region(previous[0], min(last_frame, sample + stride), *box, "face") for box in boxes]
    before, earlier = previous
    for box in boxes:
        for other in earlier:
            if _near(box, other):
                regions.append(Region(before, sample, *_union(box, other), "face"))
    return regions


def redact_video(*, source: Path | str, target: Path | str, info: VideoInfo, regions: list[Region]) -> list[Region]:
    """Write `source` to `target` (H.264 in MP4) with `regions` and every face found obscured.

    Returns the regions applied: the requested ones, then the faces. Call only on a file
    `probe_video` accepted. Raises `invalid_video` or, past SNIPPET_REDACT_TIMEOUT_S,
    `video_too_large`.
    """
    source = Path(source)
    container = _container_of(source)
    timeout = settings.SNIPPET_REDACT_TIMEOUT_S
    ends = time.monotonic() + timeout
    stride = max(1, round(info.fps / DETECT_HZ))
    last_frame = info.frame_count - 1
    requested = sorted(regions, key=lambda r: r.first)
    pending = deque(requested)
    active: list[Region] = []
    faces: list[Region] = []  # still reaching buffered frames
    applied: list[Region] = []
    buffer: deque[tuple[int, av.VideoFrame]] = deque()
    previous: tuple[int, list] = (0, [])
    written = [0, None]  # frames, last pts

    try:
        with (
            _open(source, container, settings.SNIPPET_PROBE_TIMEOUT_S) as src,
            av.open(str(target), "w", format="mp4") as dst,
        ):
            stream, _ = _video_stream(src, container)
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate or round(info.fps)
            out = dst.add_stream("libx264", rate=rate, options={"preset": "ultrafast", "crf": "20"})
            out.width, out.height, out.pix_fmt = info.width, info.height, "yuv420p"
            out.time_base = stream.time_base
            out.thread_type = "AUTO"
            detector = FaceDetector(info.width, info.height)

            def emit(index: int, frame: av.VideoFrame) -> None:
                while pending and pending[0].first <= index:
                    active.append(pending.popleft())
                active[:] = [r for r in active if r.last >= index]
                covering = [r for r in active if r.first <= index] + [r for r in faces if r.first <= index <= r.last]
                pts = frame.pts
                if frame.format.name != "yuv420p":
                    frame = frame.reformat(format="yuv420p")
                if covering:
                    frame = _obscured(frame, covering)
                if pts is None or (written[1] is not None and pts <= written[1]):
                    pts = (written[1] or 0) + 1 if written[1] is not None else 0
                frame.pts, frame.time_base = pts, stream.time_base
                written[0], written[1] = written[0] + 1, pts
                for packet in out.encode(frame):
                    dst.mux(packet)

            index = -1
            for frame in src.decode(stream):
                if time.monotonic() > ends:
                    raise video_too_large(f"The video could not be redacted within {timeout:g} s.")
                index += 1
                if index > last_frame:
                    break
                buffer.append((index, frame))
                if index % stride == 0 or index == last_frame:
                    boxes = detector.faces(frame)
                    found = _face_regions(index, boxes, previous, stride, last_frame)
                    faces.extend(found)
                    applied.extend(found)
                    previous = (index, boxes)
                    # No later detection reaches back before this sample.
                    while buffer and buffer[0][0] < index:
                        emit(*buffer.popleft())
                    faces[:] = [r for r in faces if r.last >= index]
            while buffer:
                emit(*buffer.popleft())
            for packet in out.encode(None):
                dst.mux(packet)
    except LoupeError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise invalid_video(f"The file is not a decodable video ({type(exc).__name__}).") from None
    if written[0] == 0:
        raise invalid_video("No frame of the video could be decoded.")
    return requested + applied
