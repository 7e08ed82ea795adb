"""A billing system on loopback for the webhook tests.

`Receiver` is a real HTTP server (http.server in a thread on 127.0.0.1) that verifies every
request with `standardwebhooks.Webhook(secret).verify`, exactly as billing would, and answers
from a script: a status code, `(status, headers)`, `(status, headers, body)`, or `HANG` (wait until released, then 200).
"""

import datetime as dt
import io
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult
from standardwebhooks import Webhook

from validation.models import Receipt, Visit, WebhookDelivery
from validation.services import receipt_issue

HANG = "hang"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    payload: dict | None = None  # the verified body; None when verification failed
    error: str = ""

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    secret: str = ""
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    script: list = field(default_factory=list)
    default: object = 200
    received: list[Received] = field(default_factory=list)
    got_request: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/billing/webhooks"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                item = Received(path=self.path, headers=headers, body=body)
                try:
                    item.payload = Webhook(receiver.secret).verify(body, headers)
                except Exception as exc:
                    item.error = f"{type(exc).__name__}: {exc}"
                receiver.received.append(item)
                receiver.got_request.set()
                answer = receiver.script.pop(0) if receiver.script else receiver.default
                if answer == HANG:
                    receiver.release.wait(120)
                    answer = 200
                answer = answer if isinstance(answer, tuple) else (answer,)
                status = answer[0]
                extra = answer[1] if len(answer) > 1 else {}
                answer_body = answer[2] if len(answer) > 2 else b"ok"
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(answer_body)))
                self.end_headers()
                self.wfile.write(answer_body)

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def run_worker() -> str:
    """Run the real django-tasks-db worker on the webhooks queue until nothing is ready.

    In process, inside the test's transaction: the worker's `close_old_connections` would
    close that connection (it is not in autocommit), so it is switched off here. Tests of
    the worker as its own process use a subprocess instead.
    """
    out = io.StringIO()
    with mock.patch.object(db_worker, "close_old_connections", lambda: None):
        call_command(
            "db_worker",
            "--batch",
            "--queue-name",
            "webhooks",
            "--interval",
            "0",
            "--no-startup-delay",
            "--no-reload",
            "--verbosity",
            "0",
            stdout=out,
            stderr=out,
        )
    return out.getvalue()


def make_due() -> None:
    """Move the clock to the next retry: scheduled runs and their deliveries become due now."""
    now = timezone.now()
    DBTaskResult.objects.filter(status=TaskResultStatus.READY, queue_name="webhooks").update(run_after=now)
    WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__gt=now).update(
        next_attempt_at=now
    )


def queued_runs() -> int:
    return DBTaskResult.objects.filter(status=TaskResultStatus.READY, queue_name="webhooks").count()


def make_visit(store, external_id: str = "v-1") -> Visit:
    now = timezone.now()
    return Visit.objects.create(
        store=store,
        external_id=external_id,
        shopper="anon-test",
        entered_at=now - dt.timedelta(minutes=10),
        exited_at=now - dt.timedelta(minutes=1),
        model_version="test",
        status=Visit.Status.VALIDATED,
        decision=Visit.Decision.REVIEW,
        threshold=0.9,
        body_sha256="0" * 64,
    )


def issue(visit: Visit, lines: list[dict], supersedes: Receipt | None = None) -> Receipt:
    """Issue a receipt the one way Loupe does (which announces it to billing)."""
    return receipt_issue(visit=visit, lines=lines, supersedes=supersedes)


def as_json(data) -> dict:
    return json.loads(json.dumps(data))
