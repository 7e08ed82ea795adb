"""Probing untrusted video with PyAV.

An upload is hostile until proven otherwise. The container is chosen from the file's magic
bytes and forced (no format guessing, so a playlist or concat script renamed `.mp4` never
reaches the demuxer that would follow it); FFmpeg may open no protocol but `file` and the
MP4 demuxer follows no data references, so nothing but the one file is read; only H.264 in
MP4 and VP9 in WebM are accepted; duration, resolution and frame rate come from the stream
metadata and are checked before this module decodes a frame (decoders also refuse frames above
the pixel limit); the frame count is the packets counted, never the header's word, and the count
stops at the first packet past a limit, so a clip of a million tiny frames costs no more than
the limit; every demux and decode step runs against a deadline.
"""

import io
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
from django.conf import settings
from PIL import Image
from rest_framework import status

from infra.errors import LoupeError

# container -> (forced demuxer, format name FFmpeg reports, accepted codecs)
_FORMATS = {
    "mp4": ("mov", "mov", ("h264",)),
    "webm": ("matroska", "matroska", ("vp9",)),
}
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
THUMBNAIL_WIDTH = 160


@dataclass(frozen=True)
class VideoInfo:
    container: str  # "mp4" or "webm"
    codec: str  # "h264" or "vp9"
    duration_s: float
    fps: float
    width: int
    height: int
    frame_count: int


def invalid_video(detail: str) -> LoupeError:
    return LoupeError(detail, code="invalid_video", field="file")


def video_too_large(detail: str) -> LoupeError:
    return LoupeError(
        detail, code="video_too_large", field="file", status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    )


def sniff_container(head: bytes) -> str | None:
    """ "mp4" or "webm" from a file's first bytes, or None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mp4"
    # EBML header whose DocType is "webm" (plain Matroska is not accepted).
    if head.startswith(_EBML_MAGIC) and b"\x42\x82\x84webm" in head[:64]:
        return "webm"
    return None


class _Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.ends:
            raise invalid_video(f"The video could not be checked within {self.seconds:g} s.")


def _open(path: Path, container: str, timeout_s: float, *, header_only: bool = False):
    """Open `path` with its forced demuxer; `header_only` allows no decoder at all, so the
    stream's parameters are the container header's, untouched by stream-info probing."""
    demuxer, _, codecs = _FORMATS[container]
    max_pixels = settings.SNIPPET_MAX_WIDTH * settings.SNIPPET_MAX_HEIGHT
    return av.open(
        f"file:{Path(path).resolve()}",
        mode="r",
        format=demuxer,
        container_options={
            "protocol_whitelist": "file",
            "format_whitelist": demuxer,
            "codec_whitelist": "none" if header_only else ",".join(codecs),
            "enable_drefs": "0",
            "use_absolute_path": "0",
            "probesize": str(32 * 1024 if header_only else 5 * 1024 * 1024),
            "analyzeduration": str(0 if header_only else 5 * 1_000_000),
        },
        # Applied to every decoder, including the ones stream-info probing opens.
        options={"max_pixels": str(max_pixels)},
        timeout=(timeout_s, timeout_s),
    )


def _video_stream(source, container: str):
    video = [s for s in source.streams if s.type == "video"]
    if not video:
        raise invalid_video("The file has no video stream.")
    stream = video[0]
    codec = stream.codec_context.name if stream.codec_context is not None else "unknown"
    if codec not in _FORMATS[container][2]:
        accepted = " or ".join(_FORMATS[container][2])
        raise invalid_video(f"{container.upper()} snippets must be {accepted}, not {codec}.")
    return stream, codec


def _check_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise invalid_video("The video has no frame size.")
    if width > settings.SNIPPET_MAX_WIDTH or height > settings.SNIPPET_MAX_HEIGHT:
        raise video_too_large(
            f"The video is {width}x{height}; at most "
            f"{settings.SNIPPET_MAX_WIDTH}x{settings.SNIPPET_MAX_HEIGHT} is accepted."
        )


def _check_duration(duration_s: float) -> None:
    if duration_s > settings.SNIPPET_MAX_SECONDS:
        raise video_too_large(
            f"The video lasts {duration_s:.1f} s; at most {settings.SNIPPET_MAX_SECONDS} s is accepted."
        )


def _check_fps(fps: float) -> None:
    if fps > settings.SNIPPET_MAX_FPS:
        raise video_too_large(f"The video runs at {fps:g} fps; at most {settings.SNIPPET_MAX_FPS} fps is accepted.")


def _too_many_frames() -> LoupeError:
    return video_too_large(f"The video has more than {settings.SNIPPET_MAX_FRAMES} frames; no more is accepted.")


def _header_size(path: Path, container: str) -> tuple[int, int]:
    """The frame size the container's header states.

    A decoder that refuses a frame above the pixel limit while FFmpeg probes the stream wipes
    the size it had from the header (VP9 in WebM does), which would read as "no frame size".
    """
    with _open(path, container, settings.SNIPPET_PROBE_TIMEOUT_S, header_only=True) as source:
        video = [s for s in source.streams if s.type == "video"]
        if not video or video[0].codec_context is None:
            return 0, 0
        return video[0].codec_context.width, video[0].codec_context.height


def _container_of(path: Path) -> str:
    with Path(path).open("rb") as f:
        head = f.read(64)
    if not head:
        raise invalid_video("The file is empty.")
    container = sniff_container(head)
    if container is None:
        raise invalid_video("The file is neither an MP4 nor a WebM video.")
    return container


def probe_video(path: Path | str) -> VideoInfo:
    """Check that `path` is a decodable snippet within the limits and describe it.

    Raises LoupeError `invalid_video` (400) or `video_too_large` (413). Reads only `path`.
    """
    path = Path(path)
    container = _container_of(path)
    deadline = _Deadline(settings.SNIPPET_PROBE_TIMEOUT_S)
    try:
        with _open(path, container, settings.SNIPPET_PROBE_TIMEOUT_S) as source:
            if not source.format.name.startswith(_FORMATS[container][1]):
                raise invalid_video("The file's container is not the one its header claims.")
            stream, codec = _video_stream(source, container)
            width, height = stream.codec_context.width, stream.codec_context.height
            if width <= 0 or height <= 0:
                _check_size(*_header_size(path, container))
            _check_size(width, height)
            rate = stream.average_rate or stream.guessed_rate
            if rate:
                _check_fps(float(rate))
            time_base = stream.time_base or Fraction(1, 1_000_000)
            duration_s = None
            if stream.duration:
                duration_s = float(stream.duration * time_base)
            elif source.duration:
                duration_s = source.duration / av.time_base
            if duration_s is not None:
                _check_duration(duration_s)
            deadline.check()
            packets, end_s, first_frame = _demux(source, stream, deadline)
    except LoupeError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise invalid_video(f"The file is not a decodable video ({type(exc).__name__}).") from None
    if first_frame is None:
        raise invalid_video("No frame of the video could be decoded.")
    _check_size(first_frame.width, first_frame.height)
    if stream.frames and packets < stream.frames:
        raise invalid_video("The video is truncated.")
    # The packets, not the header: a fragmented MP4's header counts only the frames before
    # its first fragment (one, or none), whatever the fragments hold.
    frame_count = packets
    if duration_s is None or duration_s <= 0:
        duration_s = end_s
    elif end_s and end_s + (2 / float(rate) if rate else 0.25) + 0.05 < duration_s:
        # The header promises more than the file holds (e.g. a WebM cut short).
        raise invalid_video("The video is truncated.")
    _check_duration(duration_s)
    fps = float(rate) if rate else (frame_count / duration_s if duration_s else 0.0)
    if frame_count <= 0 or fps <= 0 or duration_s <= 0:
        raise invalid_video("The video has no frames.")
    # Frames packed closer than the stated rate (the first starts at 0, hence the -1; 5 % for
    # durations rounded to the time base).
    if (measured := (frame_count - 1) / duration_s) > settings.SNIPPET_MAX_FPS * 1.05:
        _check_fps(measured)
    return VideoInfo(
        container=container,
        codec=codec,
        duration_s=round(duration_s, 3),
        fps=round(fps, 3),
        width=width,
        height=height,
        frame_count=frame_count,
    )


def _demux(source, stream, deadline: _Deadline):
    """Count the stream's packets (demux only) and decode until the first frame appears."""
    packets, end_s, first_frame = 0, 0.0, None
    time_base = stream.time_base or Fraction(1, 1_000_000)
    for packet in source.demux(stream):
        deadline.check()
        if packet.size == 0:
            continue  # the demuxer's end-of-stream marker
        if packet.is_corrupt:
            raise invalid_video("The video is truncated or corrupt.")
        packets += 1
        if packets > settings.SNIPPET_MAX_FRAMES:
            raise _too_many_frames()
        if packet.pts is not None:
            end_s = max(end_s, float((packet.pts + (packet.duration or 0)) * time_base))
            if end_s > settings.SNIPPET_MAX_SECONDS:
                _check_duration(end_s)
        if first_frame is None:
            for frame in stream.codec_context.decode(packet):
                first_frame = frame
                break
    if first_frame is None:
        deadline.check()
        for frame in stream.codec_context.decode(None):
            first_frame = frame
            break
    return packets, end_s, first_frame


def make_poster(path: Path | str) -> tuple[bytes, bytes]:
    """(poster JPEG at clip size, thumbnail JPEG ~160 px wide) from the first frame.

    Call only on a file `probe_video` accepted.
    """
    path = Path(path)
    container = _container_of(path)
    deadline = _Deadline(settings.SNIPPET_PROBE_TIMEOUT_S)
    image = None
    try:
        with _open(path, container, settings.SNIPPET_PROBE_TIMEOUT_S) as source:
            stream, _ = _video_stream(source, container)
            for packet in source.demux(stream):
                deadline.check()
                frames = stream.codec_context.decode(packet if packet.size else None)
                if frames:
                    image = frames[0].to_image()
                    break
    except LoupeError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise invalid_video(f"The file is not a decodable video ({type(exc).__name__}).") from None
    if image is None:
        raise invalid_video("No frame of the video could be decoded.")
    poster = _jpeg(image)
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_WIDTH, max(1, round(THUMBNAIL_WIDTH * image.height / image.width))))
    return poster, _jpeg(thumb)


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()
