import io
from fractions import Fraction

import av
import pytest
from PIL import Image

import annotator.media
from annotator.media import make_poster, probe_video, sniff_container
from annotator.synth import make_clip
from infra.errors import LoupeError
from tests.annotator.clips import (
    FFCONCAT,
    HLS_PLAYLIST,
    audio_only_mp4,
    fragmented_mp4,
    jpeg_bytes,
    mp4_with_codec,
)


@pytest.fixture
def write(tmp_path):
    def write(data: bytes, name: str = "upload.mp4"):
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


def _refused(path, code="invalid_video") -> LoupeError:
    with pytest.raises(LoupeError) as caught:
        probe_video(path)
    assert caught.value.code == code
    return caught.value


def test_an_h264_mp4_is_described_from_its_metadata(write):
    clip = make_clip(seconds=2, fps=15)
    info = probe_video(write(clip.data))
    assert (info.container, info.codec) == ("mp4", "h264")
    assert (info.width, info.height, info.fps, info.frame_count) == (320, 240, 15.0, 30)
    assert info.duration_s == pytest.approx(2.0, abs=0.07)


def test_a_vp9_webm_is_accepted_and_its_frames_counted_from_packets(write):
    clip = make_clip(codec="vp9", seconds=1.5, fps=10, width=160, height=120)
    info = probe_video(write(clip.data, "clip.webm"))
    assert (info.container, info.codec) == ("webm", "vp9")
    assert (info.width, info.height, info.frame_count) == (160, 120, 15)
    assert info.duration_s == pytest.approx(1.5, abs=0.11)


@pytest.mark.parametrize(
    "data",
    [jpeg_bytes(), HLS_PLAYLIST, FFCONCAT, b"not a video at all", b"\x00\x00\x00\x18ftypisom" + bytes(200)],
    ids=["renamed_jpeg", "hls_playlist", "ffconcat", "text", "ftyp_then_zeros"],
)
def test_files_that_are_not_videos_are_invalid(write, data):
    _refused(write(data))


def test_an_empty_file_is_invalid(write):
    assert "empty" in _refused(write(b"")).detail


@pytest.mark.parametrize("keep", [0.5, 0.95], ids=["half", "nearly_all"])
def test_a_truncated_mp4_fails_cleanly(write, keep):
    data = make_clip().data
    _refused(write(data[: int(len(data) * keep)]))


def test_a_truncated_mp4_with_the_index_last_fails_cleanly(write):
    out = io.BytesIO()  # no faststart: the moov box comes last and is cut off
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(10):
            frame = av.VideoFrame.from_image(Image.new("RGB", (64, 64))).reformat(format="yuv420p")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    _refused(write(out.getvalue()[:-200]))


def test_a_truncated_webm_fails_cleanly(write):
    data = make_clip(codec="vp9").data
    _refused(write(data[: len(data) // 2], "clip.webm"))


def test_an_mp4_without_a_video_stream_is_invalid(write):
    assert "no video stream" in _refused(write(audio_only_mp4())).detail


@pytest.mark.parametrize("codec", ["mpeg4", "mjpeg", "libvpx-vp9"])
def test_codecs_other_than_h264_in_mp4_are_invalid(write, codec):
    _refused(write(mp4_with_codec(codec)))


def test_plain_matroska_is_not_webm(write):
    _refused(write(mp4_with_codec("libvpx-vp9", container_format="matroska"), "clip.mkv"))


def test_a_clip_longer_than_the_limit_is_too_large(write, settings):
    settings.SNIPPET_MAX_SECONDS = 1
    error = _refused(write(make_clip(seconds=2).data), code="video_too_large")
    assert error.status_code == 413


def test_a_webm_longer_than_the_limit_is_too_large(write, settings):
    settings.SNIPPET_MAX_SECONDS = 1
    _refused(write(make_clip(codec="vp9", seconds=2).data, "clip.webm"), code="video_too_large")


@pytest.mark.parametrize(("max_width", "max_height"), [(319, 1080), (1920, 239)])
def test_a_clip_larger_than_the_resolution_limit_is_too_large(write, settings, max_width, max_height):
    settings.SNIPPET_MAX_WIDTH, settings.SNIPPET_MAX_HEIGHT = max_width, max_height
    error = _refused(write(make_clip(seconds=0.5).data), code="video_too_large")
    assert error.status_code == 413


def test_a_vp9_webm_too_large_for_the_decoder_is_too_large_not_sizeless(write, settings):
    # The VP9 decoder refuses the frame (pixel limit) while FFmpeg probes the stream and wipes
    # the size the WebM header states; the header's size is what the client is told about.
    settings.SNIPPET_MAX_WIDTH, settings.SNIPPET_MAX_HEIGHT = 160, 120
    error = _refused(
        write(make_clip(codec="vp9", seconds=0.2, width=320, height=240).data, "clip.webm"), "video_too_large"
    )
    assert "320x240" in error.detail
    assert error.status_code == 413


def test_a_clip_of_many_tiny_frames_faster_than_the_frame_rate_limit_is_too_large(write, settings):
    settings.SNIPPET_MAX_FPS = 120
    error = _refused(write(make_clip(seconds=0.5, fps=1000, width=32, height=32).data), "video_too_large")
    assert "1000 fps" in error.detail
    assert error.status_code == 413


def test_a_clip_at_the_frame_rate_limit_is_accepted(write, settings):
    settings.SNIPPET_MAX_FPS = 120
    info = probe_video(write(make_clip(seconds=2, fps=120, width=32, height=32).data))
    assert (info.fps, info.frame_count) == (120.0, 240)


def test_frames_timestamped_closer_than_the_nominal_rate_are_too_large(write, settings):
    # Encoded at a nominal 30 fps, but 90 frames are timestamped into one second.
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 90)
        frame = av.VideoFrame.from_image(Image.new("RGB", (32, 32))).reformat(format="yuv420p")
        for i in range(90):
            frame.pts, frame.time_base = i, Fraction(1, 90)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    settings.SNIPPET_MAX_FPS = 60
    assert _refused(write(out.getvalue()), "video_too_large").status_code == 413


def test_a_fragmented_mp4_is_counted_by_its_packets_not_its_header(write):
    data = fragmented_mp4(200, fps=30)
    with av.open(io.BytesIO(data)) as source:
        assert source.streams.video[0].frames == 1  # the header's claim
    info = probe_video(write(data))
    assert info.frame_count == 200
    assert info.fps == 30.0


def test_a_fragmented_mp4_claiming_one_frame_but_holding_20000_is_stored_with_20000(write, settings):
    settings.SNIPPET_MAX_FPS, settings.SNIPPET_MAX_FRAMES = 1000, 20_000
    assert probe_video(write(fragmented_mp4(20_000, fps=1000))).frame_count == 20_000


def test_frames_are_counted_no_further_than_the_frame_limit(write, settings, monkeypatch):
    settings.SNIPPET_MAX_FPS, settings.SNIPPET_MAX_FRAMES = 1000, 500
    path = write(fragmented_mp4(20_000, fps=1000))
    checks = []
    real_check = annotator.media._Deadline.check
    monkeypatch.setattr(annotator.media._Deadline, "check", lambda self: checks.append(1) or real_check(self))
    error = _refused(path, "video_too_large")
    assert "500 frames" in error.detail
    # One deadline check per demuxed packet: the loop stopped at the first one past the limit.
    assert len(checks) <= 500 + 3


def test_a_probe_out_of_time_fails_cleanly(write, settings):
    settings.SNIPPET_PROBE_TIMEOUT_S = 0
    _refused(write(make_clip(seconds=0.5).data))


def test_sniffing_reads_magic_bytes_not_names():
    assert sniff_container(make_clip(seconds=0.2).data[:64]) == "mp4"
    assert sniff_container(make_clip(seconds=0.2, codec="vp9").data[:64]) == "webm"
    assert sniff_container(HLS_PLAYLIST[:64]) is None
    assert sniff_container(jpeg_bytes()[:64]) is None


def test_poster_is_clip_sized_and_thumbnail_160_wide(write):
    poster, thumbnail = make_poster(write(make_clip(seconds=0.5, width=320, height=240).data))
    assert Image.open(io.BytesIO(poster)).size == (320, 240)
    assert Image.open(io.BytesIO(thumbnail)).size == (160, 120)
    assert Image.open(io.BytesIO(poster)).format == "JPEG"
