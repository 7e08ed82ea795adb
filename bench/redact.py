"""Redaction cost of one upload: probe, face detection + obscuring + re-encode, poster.

    .venv/bin/python bench/redact.py [--seconds 120] [--fps 30] [--width 1920] [--height 1080]

Makes the clip with PyAV (H.264, a moving gradient with a face photo walking across it and a
`redact` box), then runs exactly what `snippet_ingest` runs between spooling and storing.
Prints one JSON object: seconds and CPU seconds per step, frames per second, faces found, the
load average before and after. Target: the whole upload within SNIPPET_PROBE_TIMEOUT_S (20 s)
for 120 s of 1080p. On a shared machine wall time moves with the load; CPU time much less.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()

from annotator.media import make_poster, probe_video  # noqa: E402
from annotator.redaction import Region, redact_video  # noqa: E402


def make_clip(path: str, *, seconds: int, fps: int, width: int, height: int) -> None:
    try:
        from skimage.data import astronaut

        face = astronaut()[0:300, 100:400]
    except ImportError:  # runtime-only install: a flat patch, no face
        face = np.full((300, 300, 3), 128, dtype=np.uint8)
    ys, xs = np.mgrid[0:height, 0:width]
    base = np.stack([(xs * 255 // width), (ys * 255 // height), np.full_like(xs, 90)], -1).astype(np.uint8)
    with av.open(path, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "23"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(seconds * fps):
            image = np.roll(base, i * 3, axis=1)
            x = (i * 5) % (width - 300)
            image[100:400, x : x + 300] = face
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def timed(step, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    result = step(*args, **kwargs)
    return result, round(time.perf_counter() - wall, 2), round(time.process_time() - cpu, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        source, target = f"{tmp}/clip.mp4", f"{tmp}/redacted.mp4"
        _, make_s, _ = timed(
            make_clip, source, seconds=args.seconds, fps=args.fps, width=args.width, height=args.height
        )
        info, probe_s, probe_cpu = timed(probe_video, source)
        regions = [Region(0, info.frame_count - 1, 40, 40, 200, 120, "request")]
        applied, redact_s, redact_cpu = timed(redact_video, source=source, target=target, info=info, regions=regions)
        _, reprobe_s, reprobe_cpu = timed(probe_video, target)
        _, poster_s, poster_cpu = timed(make_poster, target)
        total = probe_s + redact_s + reprobe_s + poster_s
        print(
            json.dumps(
                {
                    "clip": f"{args.width}x{args.height} {args.fps} fps {args.seconds} s",
                    "frames": info.frame_count,
                    "upload_mb": round(Path(source).stat().st_size / 1e6, 1),
                    "stored_mb": round(Path(target).stat().st_size / 1e6, 1),
                    "make_clip_s": make_s,
                    "probe_s": probe_s,
                    "redact_s": redact_s,
                    "redact_cpu_s": redact_cpu,
                    "redact_fps": round(info.frame_count / redact_s, 1),
                    "reprobe_s": reprobe_s,
                    "poster_s": poster_s,
                    "upload_total_s": round(total, 2),
                    "upload_total_cpu_s": round(probe_cpu + redact_cpu + reprobe_cpu + poster_cpu, 2),
                    "face_regions": sum(1 for r in applied if r.source == "face"),
                    "load_before": round(load_before, 2),
                    "load_after": round(os.getloadavg()[0], 2),
                    "cores": os.cpu_count(),
                }
            )
        )


if __name__ == "__main__":
    main()
