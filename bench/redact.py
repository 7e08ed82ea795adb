"""Snippet upload latency and worker-side redaction, on a real HTTP server.

    python bench/redact.py [--seconds 120] [--fps 30] [--width 1920] [--height 1080] [--uploads 3]

The clip: made once with PyAV (H.264, libx264 `ultrafast`, CRF 26: a colour gradient scrolling
sideways, with a face photo, scikit-image's astronaut, walking across it) and cached under
`var/bench/` by its parameters, so a second run starts at once. Then, on a PostgreSQL database
of its own (BENCH_DATABASE_URL's server, dropped at the end) with media in a throw-away
MEDIA_ROOT: `gunicorn config.wsgi` (production settings, 2 sync workers) takes `--uploads`
`POST /api/v1/snippets/` of the clip (with a `redact` box over every frame and `annotate`), each
timed from the first byte sent to the 201 (its CPU seconds read from the server's processes):
that is what must stay within SNIPPET_PROBE_TIMEOUT_S. Then `manage.py worker --queue-name
redaction --max-tasks 1` redacts the first upload (wall and CPU seconds of the worker
process), and `GET /api/v1/snippets/{id}/` says `ready`, with the face regions found. Prints
one JSON object. On a shared machine wall time moves with the load; CPU time much less.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import httpx
import numpy as np
from common import RssSampler, admin, cpu_seconds, migrate_and_seed, server_environment, start_gunicorn, stop_server

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the virtualenv this bench runs in
DB_NAME = "loupe_bench_redact"
CACHE = ROOT / "var" / "bench"
CLIP_VERSION = 1  # bump when make_clip changes what it draws
SEED = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from catalog.models import Camera, Store, StoreAccess
store = Store.objects.create(code="B001", name="Bench store")
Camera.objects.create(store=store, code="C01")
user = User.objects.create_user("bench-cv")
user.groups.add(Group.objects.get_or_create(name="integration")[0])
StoreAccess.objects.create(store=store, user=user)
print(Token.objects.create(user=user).key)
"""


def make_clip(path: Path, *, seconds: int, fps: int, width: int, height: int) -> None:
    from skimage.data import astronaut

    face = astronaut()[0:300, 100:400]
    ys, xs = np.mgrid[0:height, 0:width]
    base = np.stack([(xs * 255 // width), (ys * 255 // height), np.full_like(xs, 90)], -1).astype(np.uint8)
    partial = path.with_suffix(".partial")
    with av.open(str(partial), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "26"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(seconds * fps):
            image = np.roll(base, i * 3, axis=1)
            x = (i * 5) % (width - 300)
            image[100:400, x : x + 300] = face
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    partial.rename(path)  # only a whole clip is ever cached


def cached_clip(*, seconds: int, fps: int, width: int, height: int) -> tuple[Path, float]:
    """The clip's path, and the seconds spent making it (0 when it was cached)."""
    path = CACHE / f"redact-v{CLIP_VERSION}-{width}x{height}-{fps}fps-{seconds}s.mp4"
    if path.exists():
        return path, 0.0
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    make_clip(path, seconds=seconds, fps=fps, width=width, height=height)
    return path, round(time.perf_counter() - started, 1)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--uploads", type=int, default=3, help="uploads timed (the first one is redacted)")
    args = parser.parse_args()
    clip, make_s = cached_clip(seconds=args.seconds, fps=args.fps, width=args.width, height=args.height)
    data = clip.read_bytes()

    base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    media = tempfile.TemporaryDirectory(prefix="loupe-bench-media-")
    env = server_environment(base, DB_NAME, MEDIA_ROOT=media.name)
    env.pop("AWS_STORAGE_BUCKET_NAME", None)
    python = str(BIN / "python")
    admin(base, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    admin(base, f"CREATE DATABASE {DB_NAME}")
    server = None
    try:
        token = migrate_and_seed(python, env, SEED)
        read = "from django.conf import settings; print(settings.SNIPPET_PROBE_TIMEOUT_S)"
        shell = subprocess.run(
            [python, "manage.py", "shell", "-c", read], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
        probe_timeout = int(shell.stdout.split()[-1])

        server, url = start_gunicorn(str(BIN / "gunicorn"), env, "-w", "2", "--timeout", "300")
        sampler = RssSampler(server.pid)
        client = httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=300)
        redact = json.dumps([{"frames": [0, args.seconds * args.fps - 1], "box": [40, 40, 200, 120]}])

        load_before = os.getloadavg()[0]
        uploads, body = [], None
        for n in range(args.uploads):
            cpu_before = cpu_seconds(sampler.pids())
            started = time.perf_counter()
            response = client.post(
                "/api/v1/snippets/",
                data={
                    "store": "B001",
                    "camera": "C01",
                    "external_id": f"bench-{n}",
                    "started_at": "2026-11-24T10:03:11+00:00",
                    "annotate": "true",
                    "redact": redact,
                },
                files={"file": ("clip.mp4", data, "video/mp4")},
            )
            wall = time.perf_counter() - started
            if response.status_code != 201:
                raise SystemExit(f"upload {n}: {response.status_code} {response.text[:300]}")
            uploads.append(
                {"wall_s": round(wall, 2), "server_cpu_s": round(cpu_seconds(sampler.pids()) - cpu_before, 2)}
            )
            if body is None:
                body = response.json()
        if body["status"] != "redacting":
            raise SystemExit(f"the upload answered {body}")

        cpu_before, started = children_cpu(), time.perf_counter()
        worker = ["worker", "--queue-name", "redaction", "--max-tasks", "1", "--no-reload", "--no-startup-delay"]
        subprocess.run(
            [python, "manage.py", *worker, "--interval", "0.1", "--verbosity", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        worker_wall, worker_cpu = time.perf_counter() - started, children_cpu() - cpu_before
        detail = client.get(f"/api/v1/snippets/{body['id']}/").json()
        walls = [u["wall_s"] for u in uploads]
        report = {
            "clip": f"{args.width}x{args.height} {args.fps} fps {args.seconds} s, H.264 (libx264 ultrafast, CRF 26)",
            "clip_file": str(clip.relative_to(ROOT)),
            "clip_made_s": make_s,
            "upload_mb": round(len(data) / 1e6, 1),
            "server": "gunicorn -w 2 (sync), PostgreSQL, production settings",
            "upload": {
                "requests": uploads,
                "p50_s": round(statistics.median(walls), 2),
                "max_s": max(walls),
                "snippet_probe_timeout_s": probe_timeout,
                "within_timeout": max(walls) < probe_timeout,
            },
            "worker_redaction": {
                "wall_s": round(worker_wall, 1),
                "cpu_s": round(worker_cpu, 1),
                "status_after": detail["status"],
                "failure": detail["failure"],
                "face_regions": sum(1 for r in detail["redactions"] if r["source"] == "face"),
                "request_regions": sum(1 for r in detail["redactions"] if r["source"] == "request"),
            },
            "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2),
            "cores": os.cpu_count(),
        }
        print(json.dumps(report, indent=2))
        return 0
    finally:
        stop_server(server)
        admin(base, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        media.cleanup()


if __name__ == "__main__":
    sys.exit(main())
