"""Loupe's processes as README "Deploying on several machines" runs them, for the tests that
start them: a PostgreSQL database of their own, an S3-compatible store (moto's server), gunicorn
and `manage.py worker` subprocesses, each with the documented production environment."""

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg2
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent
# Set by the test process (the browser tests, pytest-django) and never by a deployment.
NOT_INHERITED = {"DEBUG", "TEST_DATABASE_NAME", "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def manage(*args: str) -> list[str]:
    return [sys.executable, str(BASE_DIR / "manage.py"), *args]


@contextlib.contextmanager
def own_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server, dropped afterwards (its sessions
    ended first): the deployment's `DATABASE_URL`."""
    params = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
    name = f"loupe_machines_{os.getpid()}_{secrets.token_hex(3)}"
    admin = psycopg2.connect(**{**params, "dbname": "postgres"})
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    db = connection.settings_dict
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    try:
        yield f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@dataclass
class ObjectStore:
    """moto's S3 server on a free loopback port, with one bucket."""

    bucket: str = "loupe-media"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def environment(self) -> dict[str, str]:
        """What README documents: the bucket, and boto3's usual `AWS_*` variables."""
        return {
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_ACCESS_KEY_ID": "loupe-test",
            "AWS_SECRET_ACCESS_KEY": "loupe-test-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def client(self):
        import boto3

        env = self.environment
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=env["AWS_DEFAULT_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    def start(self) -> "ObjectStore":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process)
        self.client().create_bucket(Bucket=self.bucket)
        return self

    def keys(self) -> dict[str, int]:
        """Every object in the bucket, with its size."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return {item["Key"]: item["Size"] for page in pages for item in page.get("Contents", [])}

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (gunicorn and the workers finish what they are doing), then SIGKILL."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def production_environment(database_url: str, **extra: str) -> dict[str, str]:
    """README's environment for every process, on plain HTTP (no TLS proxy in front)."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED and not k.startswith("AWS_")}
    env.update(
        {
            "DATABASE_URL": database_url,
            "DATABASE_CONN_MAX_AGE": "600",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


@dataclass
class Deployment:
    """The processes of one deployment, stopped together."""

    env: dict[str, str]
    logs: Path
    processes: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def run(self, *args: str, stdin: str | None = None) -> str:
        """A management command, run to completion; its standard output."""
        done = subprocess.run(
            manage(*args), env=self.env, cwd=BASE_DIR, input=stdin, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("w")
        process = subprocess.Popen(command, env=self.env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.processes.append((name, process))
        return process

    def web(self, name: str, *, workers: int = 2) -> str:
        """A gunicorn web server as README starts it; its base URL once it answers /readyz."""
        port = free_port()
        process = self.start(
            name,
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--timeout",
                "60",
                "--access-logfile",
                "-",
                # Its control socket's default path is per user, not per server: one machine
                # running two servers (this test) gives each none.
                "--no-control-socket",
            ],
        )
        wait_for_port(port, process)
        url = f"http://127.0.0.1:{port}"
        # Workers import Django after the port is bound: on a busy machine that takes seconds.
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/readyz", timeout=30).status_code == 200:
                    return url
            assert time.monotonic() < deadline, f"{name} never became ready:\n{self.log(name)}"
            time.sleep(0.1)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def alive(self) -> list[str]:
        return [name for name, process in self.processes if process.poll() is None]

    def stop(self) -> None:
        """All at once (each finishes what it is doing in a second or three), then wait."""
        for _, process in self.processes:
            if process.poll() is None:
                process.terminate()
        for _, process in reversed(self.processes):
            stop(process)
