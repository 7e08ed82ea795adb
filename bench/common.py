"""Plumbing the benchmarks share: a free loopback port, throwaway PostgreSQL databases, and
the memory and CPU time of a server's processes.

Each bench creates its own database next to the server named by BENCH_DATABASE_URL (or the
default local one) and drops it at the end, so benches never touch real data.
"""

import contextlib
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg2

# The servers the benches start keep the API's rate limits on (their cost is part of what is
# measured) but far above any bench client's pace.
RATE_LIMITS = {"API_THROTTLE_USER": "10000/s", "API_THROTTLE_ANON": "10000/s"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ROOT = Path(__file__).resolve().parent.parent


def server_environment(base: str, name: str, **extra: str) -> dict[str, str]:
    """The environment of a bench's Loupe processes: production settings on database `name`
    of the server of `base`, plain HTTP on the loopback."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(base, name),
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback
        "SECRET_KEY": "bench-only-not-a-secret",
        **RATE_LIMITS,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def migrate_and_seed(python: str, env: dict[str, str], seed: str) -> str:
    """Migrate the bench's database and run `seed` in `manage.py shell`; its last line printed."""
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    seeded = subprocess.run(
        [python, "manage.py", "shell", "-c", seed], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return seeded.stdout.strip().splitlines()[-1]


def start_gunicorn(
    gunicorn: str, env: dict[str, str], *options: str, wait_s: float = 30
) -> tuple[subprocess.Popen, str]:
    """gunicorn serving config.wsgi on a free loopback port with `options`, and its base URL
    once /healthz answers."""
    port = free_port()
    server = subprocess.Popen([gunicorn, "config.wsgi", *options, "-b", f"127.0.0.1:{port}"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    ends = time.monotonic() + wait_s
    while time.monotonic() < ends:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return server, url
        time.sleep(0.1)
    stop_server(server)
    raise SystemExit("gunicorn did not come up")


def stop_server(server: subprocess.Popen | None) -> None:
    if server is None:
        return
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def database_url(base: str, name: str) -> str:
    """The URL of database `name` on the server of `base`."""
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def admin(base: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
    conn = psycopg2.connect(base)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


class RssSampler(threading.Thread):
    """Peak of the summed VmRSS of a process and its children, sampled every 50 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.stop = pid, 0, threading.Event()

    def pids(self) -> list[int]:
        found = [self.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    stat = (entry / "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == self.pid:
                        found.append(int(entry.name))
        return found

    @staticmethod
    def rss_kb(pid: int) -> int:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.peak_kb = max(self.peak_kb, sum(self.rss_kb(pid) for pid in self.pids()))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of `pids` so far (from /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds spent by the gunicorn workers and by the PostgreSQL backends serving them.
    Unlike wall-clock rates, these barely move when other work loads the machine."""

    def __init__(self, sampler: "RssSampler", dsn: str):
        self.sampler, self.dsn = sampler, dsn

    def backends(self) -> list[int]:
        conn = psycopg2.connect(self.dsn)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                return [row[0] for row in cur.fetchall()]
        finally:
            conn.close()

    def read(self) -> tuple[float, float]:
        return cpu_seconds(self.sampler.pids()), cpu_seconds(self.backends())
