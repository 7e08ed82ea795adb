"""Slow clients cannot hold the web server: deploy/nginx/loupe.conf buffers every request, so
gunicorn's sync workers only ever see complete ones. Three connections trickling a login POST
at a byte a second would hold both workers of a bare gunicorn (shown first); through nginx,
/healthz answers at once all along."""

import contextlib
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.deployment import BASE_DIR, Deployment, free_port, production_environment, stop, wait_for_port

# No database of its own, but a deployment's test: once, in the PostgreSQL run (as a deployment).
pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
SITE = BASE_DIR / "deploy" / "nginx" / "loupe.conf"
TRICKLERS = 3
# Any well-formed CSRF secret passes when cookie and form agree (a client picks its own), so
# Django reads the whole body: the request holds its worker until the last byte.
CSRF = "slowloris" + "x" * 23
BODY = f"csrfmiddlewaretoken={CSRF}&username=alice&password=not-her-password".encode()


def trickle(port: int, stop_at: float, started: threading.Event, done: threading.Event) -> None:
    """A login POST whose headers arrive at once and whose body then comes a byte a second."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Cookie: csrftoken=" + CSRF.encode() + b"\r\n"
            b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n"
        )
        started.set()
        for byte in BODY:
            if time.monotonic() >= stop_at:
                return
            with contextlib.suppress(OSError):
                sock.sendall(bytes([byte]))
            if done.wait(1):
                return


def healthz_seconds(port: int, timeout: float) -> float | None:
    """How long GET /healthz took to answer 200, or None if it did not within `timeout`."""
    began = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.settimeout(max(0.01, timeout - (time.monotonic() - began)))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            head = sock.recv(64)
    except OSError:
        return None
    return time.monotonic() - began if head.startswith(b"HTTP/1.1 200") else None


def under_trickle(port: int, *, probes: int = 4, timeout: float = 5.0) -> list[float | None]:
    """/healthz timings on `port` while TRICKLERS connections trickle their bodies."""
    stop_at = time.monotonic() + probes * (timeout + 0.5) + 2
    started = [threading.Event() for _ in range(TRICKLERS)]
    done = threading.Event()
    threads = [threading.Thread(target=trickle, args=(port, stop_at, s, done), daemon=True) for s in started]
    for thread in threads:
        thread.start()
    for event in started:
        event.wait(5)
    time.sleep(0.5)  # the trickled requests reached the workers (or nginx)
    timings = []
    for _ in range(probes):
        timings.append(healthz_seconds(port, timeout))
        time.sleep(0.5)
    done.set()
    for thread in threads:
        thread.join(5)
    return timings


@pytest.fixture
def gunicorn(tmp_path):
    """Two sync workers (fewer than the tricklers), as a small web machine would run."""
    deployment = Deployment(env=production_environment(f"sqlite:///{tmp_path / 'unused.sqlite3'}"), logs=tmp_path)
    url = deployment.web("web", workers=2)
    yield int(url.rsplit(":", 1)[1])
    deployment.stop()


@pytest.fixture
def nginx(gunicorn):
    if NGINX is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    # nginx's workers run as an unprivileged user when started by root: a world-readable
    # folder of their own rather than pytest's private tmp_path.
    prefix = Path(tempfile.mkdtemp(prefix="loupe-nginx-"))
    prefix.chmod(0o755)
    port = free_port()
    site = SITE.read_text()
    site = re.sub(r"server 127\.0\.0\.1:\d+;", f"server 127.0.0.1:{gunicorn};", site)
    site = re.sub(r"listen 80;", f"listen 127.0.0.1:{port};", site)
    (prefix / "loupe.conf").write_text(site)
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / name).mkdir(mode=0o777)
        (prefix / name).chmod(0o777)
    (prefix / "nginx.conf").write_text(
        f"""
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/loupe.conf;
}}
"""
    )
    process = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, timeout=10)
        yield port
    finally:
        stop(process)
        shutil.rmtree(prefix, ignore_errors=True)


def test_slow_clients_through_nginx_leave_the_workers_free_while_they_hold_a_bare_gunicorn(gunicorn, nginx):
    # Through nginx first (the workers are all free), then straight at gunicorn.
    proxied = under_trickle(nginx)
    bare = under_trickle(gunicorn, probes=1, timeout=3.0)

    # Every probe answered; most at once (a loaded machine may delay one by a second or two,
    # which is no held worker: those hold until the trickle ends).
    assert None not in proxied, f"/healthz through nginx: {proxied}"
    assert sorted(proxied)[len(proxied) // 2] < 1.0, f"/healthz through nginx: {proxied}"
    assert bare == [None], f"without nginx the tricklers should hold every worker: {bare}"
