"""Bad and unusual video files for the snippet tests, made with PyAV and Pillow."""

import io
from pathlib import Path

import av
from PIL import Image

HLS_PLAYLIST = b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
FFCONCAT = b"ffconcat version 1.0\nfile /etc/passwd\nfile http://127.0.0.1:9/x.mp4\n"


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def audio_only_mp4() -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=44100)
        for i in range(20):
            frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
            frame.planes[0].update(bytes(frame.planes[0].buffer_size))
            frame.sample_rate, frame.pts = 44100, i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def mp4_with_codec(codec: str, *, container_format: str = "mp4") -> bytes:
    """A short 64x64 clip in a codec Loupe refuses (mpeg4, mjpeg, libvpx-vp9 in MP4...)."""
    pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
    out = io.BytesIO()
    with av.open(out, "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, pix_fmt
        for i in range(10):
            image = Image.new("RGB", (64, 64), (i * 20, 80, 120))
            container.mux(stream.encode(av.VideoFrame.from_image(image).reformat(format=pix_fmt)))
        container.mux(stream.encode(None))
    return out.getvalue()


def files_under(root: Path) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()] if Path(root).exists() else []


def fragmented_mp4(frames: int, *, fps: int = 30, size: int = 16) -> bytes:
    """An H.264 MP4 whose every frame is a fragment of its own (`frag_keyframe`, one-frame GOPs).

    Its header (moov) counts only the first frame: the rest live in the fragments, so
    `stream.frames` says 1 whatever `frames` is.
    """
    out = io.BytesIO()
    with av.open(out, "w", format="mp4", options={"movflags": "frag_keyframe"}) as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = size, size, "yuv420p"
        stream.codec_context.gop_size = 1
        frame = av.VideoFrame.from_image(Image.new("RGB", (size, size))).reformat(format="yuv420p")
        for i in range(frames):
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()
