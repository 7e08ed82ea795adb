"""Frame-accurate stills from stored snippets, with PyAV.

To reach frame N: seek to the keyframe at or before N's timestamp, then decode forward to
N (frames are numbered from their timestamps, so a seek that lands early only costs
decoding). Consecutive targets close together are reached by decoding on, without seeking.
The files were probed at intake; they are still opened with the demuxer forced and no
protocol but `file`.
"""

import contextlib
import io
import shutil
import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
from django.core.files.storage import default_storage
from PIL import Image

_DEMUXERS = {"mp4": "mov", "webm": "matroska"}
JPEG_QUALITY = 90


class MissingMedia(Exception):
    """A snippet's video is not in storage, or lacks a frame a label names."""


@contextlib.contextmanager
def local_video(name: str) -> Iterator[Path]:
    """A local path to a stored file: the file itself on the filesystem storage, a private
    temporary copy on object storage."""
    if not name:
        raise MissingMedia("it has no video file")
    try:
        path = Path(default_storage.path(name))
    except NotImplementedError:
        path = None
    if path is not None:
        if not path.is_file():
            raise MissingMedia(f"its video {name} is missing from storage")
        yield path
        return
    try:
        source = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError) as exc:
        raise MissingMedia(f"its video {name} is missing from storage") from exc
    with source, tempfile.NamedTemporaryFile(prefix="loupe-export-", suffix=".video") as copy:
        shutil.copyfileobj(source, copy, 1024 * 1024)
        copy.flush()
        yield Path(copy.name)


def _open(path: Path, container: str):
    demuxer = _DEMUXERS.get(container)
    if demuxer is None:
        raise MissingMedia(f"unknown container {container!r}")
    return av.open(
        f"file:{path.resolve()}",
        mode="r",
        format=demuxer,
        container_options={"protocol_whitelist": "file", "format_whitelist": demuxer, "enable_drefs": "0"},
    )


def stills(
    path: Path, container: str, frames: list[int], *, fps: float | None = None
) -> Iterator[tuple[int, Image.Image]]:
    """(frame, RGB image) for each of `frames`, in ascending order."""
    wanted = sorted(set(frames))
    if not wanted:
        return
    with _open(path, container) as source:
        stream = source.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or Fraction(fps or 15).limit_denominator(1001)
        time_base = stream.time_base
        start = stream.start_time or 0
        gop = max(1, int(rate)) * 2

        def index(frame) -> int:
            if frame.pts is None:
                return round(frame.time * float(rate))
            return round((frame.pts - start) * time_base * rate)

        decoded, position = None, None
        for target in wanted:
            if decoded is None or position is None or target - position > gop:
                pts = start + int(Fraction(target) / rate / time_base)
                source.seek(pts, stream=stream, backward=True, any_frame=False)
                decoded, position = source.decode(stream), None
            frame = None
            for frame in decoded:
                position = index(frame)
                if position >= target:
                    break
            if frame is None or position != target:
                raise MissingMedia(f"it has no frame {target}")
            yield target, frame.to_image()


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()
