"""End to end from `POST /api/v1/visits/` of an auto-accepted visit to the billing webhook
received, with the real processes: gunicorn and `manage.py db_worker` on PostgreSQL.

    .venv/bin/python bench/feedback.py [--latency 300] [--in-flight 1000] [--interval 0.1]

Creates a fresh database (dropped at the end), migrates it, seeds one store (every visit
sure, no audits) and an integration token, starts a loopback HTTP receiver that verifies
every signature with `standardwebhooks` as billing would, registers it with
`manage.py add_webhook`, then starts `gunicorn config.wsgi` and `--db-workers` processes of
`manage.py db_worker --queue-name webhooks --interval <interval>`.

- latency: `--latency` visits posted one at a time by `--clients` clients (each waits for
  its own webhook before posting the next, so the queue is never backed up): time from the
  start of the POST to the webhook received, p50/p95/max. Target p95 < 1 s.
- throughput: `--in-flight` visits posted at once (bulk, batches of 250) with the workers
  running: time from the first POST to the last webhook. Posting (ingest) bounds that one,
  so then the same number is posted with the workers stopped (1,000 receipts in flight at
  once) and the workers started: receipts delivered per second while draining the backlog.

db_worker polls the database every `--interval` seconds when idle (its default, 1 s, would
dominate the latency, so 0.1 s is the default here; reported in the output).
Prints one JSON object.
"""

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from common import RATE_LIMITS, admin, database_url, free_port
from standardwebhooks import Webhook

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
DB_NAME = "loupe_bench_feedback"
EVENTS_PER_VISIT = 5
# Yesterday: visits must have ended within VISIT_MAX_AGE_DAYS.
DAY = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).date().isoformat()
SEED = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from catalog.models import Camera, Product, Store, StoreAccess
store = Store.objects.create(code="B001", name="Bench store", auto_accept_threshold=0.9, audit_rate=0.0)
Camera.objects.create(store=store, code="C01")
Product.objects.bulk_create(
    Product(store=store, sku=f"SKU-{n:04d}", name=f"Product {n}", price_minor=99 + n, currency="EUR")
    for n in range(1, 101)
)
user = User.objects.create_user("bench-cv")
user.groups.add(Group.objects.get_or_create(name="integration")[0])
StoreAccess.objects.create(store=store, user=user)
print(Token.objects.create(user=user).key)
"""


def visit_body(n: int, prefix: str) -> dict:
    return {
        "external_id": f"{prefix}-{n:07d}",
        "store": "B001",
        "shopper": f"anon-{n:06x}",
        "entered_at": f"{DAY}T10:00:00Z",
        "exited_at": f"{DAY}T10:20:00Z",
        "model_version": "bench-1",
        "events": [
            {
                "external_id": f"e{e}",
                "action": "take",
                "sku": f"SKU-{(n * 7 + e) % 100 + 1:04d}",
                "quantity": 1 + e % 2,
                "confidence": 0.97,
                "occurred_at": f"{DAY}T10:{e + 1:02d}:00Z",
                "camera": "C01",
            }
            for e in range(EVENTS_PER_VISIT)
        ],
    }


class Billing:
    """The loopback receiver: verifies each webhook and notes when each visit's arrived."""

    def __init__(self) -> None:
        self.port = free_port()
        self.secret = ""
        self.arrived: dict[str, float] = {}
        self.webhook_ids: set[str] = set()
        self.duplicates = 0
        self.bad_signatures = 0
        self.cond = threading.Condition()
        billing = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                at = time.perf_counter()
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload = Webhook(billing.secret).verify(body, headers)
                except Exception:
                    billing.bad_signatures += 1
                    payload = None
                self.send_response(200 if payload else 400)
                self.send_header("content-length", "0")
                self.end_headers()
                if payload is None:
                    return
                with billing.cond:
                    if headers["webhook-id"] in billing.webhook_ids:
                        billing.duplicates += 1
                    billing.webhook_ids.add(headers["webhook-id"])
                    billing.arrived.setdefault(payload["data"]["visit"], at)
                    billing.cond.notify_all()

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/billing/webhooks"

    def wait_for(self, visit_id: str, timeout: float) -> float | None:
        with self.cond:
            self.cond.wait_for(lambda: visit_id in self.arrived, timeout)
            return self.arrived.get(visit_id)

    def wait_count(self, visit_ids: set[str], timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: visit_ids <= self.arrived.keys(), timeout)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def measure_latency(base_url: str, token: str, billing: Billing, visits: int, clients: int, prefix="lat") -> dict:
    latencies: list[float] = []
    lost: list[str] = []
    lock = threading.Lock()
    numbers = list(range(visits))

    def client_loop() -> None:
        headers = {"Authorization": f"Token {token}"}
        with httpx.Client(headers=headers, timeout=30) as client:
            while True:
                with lock:
                    if not numbers:
                        return
                    n = numbers.pop()
                start = time.perf_counter()
                response = client.post(f"{base_url}/api/v1/visits/", json=visit_body(n, prefix))
                assert response.status_code == 201 and response.json()["status"] == "auto_accepted", response.text
                visit_id = response.json()["id"]
                arrived = billing.wait_for(visit_id, 30)
                with lock:
                    if arrived is None:
                        lost.append(visit_id)
                    else:
                        latencies.append(arrived - start)

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "visits": visits,
        "clients": clients,
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "not_received_within_30s": len(lost),
    }


def post_bulk(base_url: str, token: str, visits: int, prefix: str) -> set[str]:
    batches = [[visit_body(n, prefix) for n in range(i, min(i + 250, visits))] for i in range(0, visits, 250)]
    ids: set[str] = set()
    with httpx.Client(headers={"Authorization": f"Token {token}"}, timeout=120) as client:
        for batch in batches:
            response = client.post(f"{base_url}/api/v1/visits/bulk/", json={"visits": batch})
            response.raise_for_status()
            for item in response.json()["results"]:
                assert item["status_code"] == 201, item
                ids.add(item["body"]["id"])
    return ids


def measure_drain(billing: Billing, ids: set[str], start_workers) -> dict:
    """`ids` were posted while no worker ran: every receipt waits. Start the workers and time
    until billing has them all."""
    start = time.perf_counter()
    start_workers()
    complete = billing.wait_count(ids, 600)
    with billing.cond:
        arrived = [billing.arrived[i] for i in ids if i in billing.arrived]
    return {
        "visits": len(ids),
        "all_delivered": complete,
        "drain_s": round(max(arrived) - start, 3),
        "receipts_delivered_per_s": round(len(arrived) / (max(arrived) - start), 1),
    }


def measure_throughput(base_url: str, token: str, billing: Billing, visits: int) -> dict:
    start = time.perf_counter()
    ids = post_bulk(base_url, token, visits, "tp")
    posted = time.perf_counter()
    complete = billing.wait_count(ids, 600)
    with billing.cond:
        arrived = [billing.arrived[i] for i in ids if i in billing.arrived]
    return {
        "visits": visits,
        "all_delivered": complete,
        "post_s": round(posted - start, 3),
        "post_to_last_webhook_s": round(max(arrived) - start, 3),
        "receipts_delivered_per_s": round(len(arrived) / (max(arrived) - start), 1),
    }


def wait_healthy(base_url: str) -> None:
    for _ in range(150):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit("gunicorn did not come up")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=int, default=300, help="visits for the latency figures")
    parser.add_argument("--clients", type=int, default=2, help="concurrent clients in the latency run")
    parser.add_argument("--in-flight", type=int, default=1000, help="visits posted at once for throughput")
    parser.add_argument("--interval", type=float, default=0.1, help="db_worker idle polling interval, seconds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--db-workers", type=int, default=2, help="db_worker processes")
    parser.add_argument("--keep-db", action="store_true", help="leave the database for inspection")
    args = parser.parse_args()

    base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    env = {
        **os.environ,
        "DATABASE_URL": database_url(base, DB_NAME),
        "DATABASE_CONN_MAX_AGE": "600",
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback
        "SECRET_KEY": "bench-only-not-a-secret",
        **RATE_LIMITS,
        "ALLOWED_HOSTS": "127.0.0.1",
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("TEST_DATABASE_NAME", None)
    admin(base, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    admin(base, f"CREATE DATABASE {DB_NAME}")
    billing = Billing()
    processes: list[subprocess.Popen] = []
    try:
        subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        seeded = subprocess.run(
            [PY, "manage.py", "shell", "-c", SEED], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
        token = seeded.stdout.strip().splitlines()[-1]
        added = subprocess.run(
            [PY, "manage.py", "add_webhook", billing.url, "--events", "receipt.issued,receipt.corrected"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        billing.secret = added.stdout.strip().splitlines()[-1]

        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        processes.append(
            subprocess.Popen(
                [GUNICORN, "config.wsgi", "-w", str(args.workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
                cwd=ROOT,
                env=env,
            )
        )
        worker = [PY, "manage.py", "db_worker", "--queue-name", "webhooks", "--interval", str(args.interval)]
        workers: list[subprocess.Popen] = []

        def start_workers() -> None:
            for _ in range(args.db_workers):
                process = subprocess.Popen(
                    [*worker, "--no-startup-delay", "--no-reload", "-v", "0"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                )
                workers.append(process)
                processes.append(process)

        start_workers()
        wait_healthy(base_url)

        # Warm up: gunicorn workers, db_workers and the receiver all on their feet.
        measure_latency(base_url, token, billing, 20, args.clients, prefix="warm")
        latency = measure_latency(base_url, token, billing, args.latency, args.clients)
        throughput = measure_throughput(base_url, token, billing, args.in_flight)
        # Then the same number of receipts all waiting at once: workers stopped while posting.
        for process in workers:
            stop(process)
        workers.clear()
        backlog = post_bulk(base_url, token, args.in_flight, "backlog")
        drain = measure_drain(billing, backlog, start_workers)
        report = {
            "setup": (
                f"gunicorn -w {args.workers} (sync) + {args.db_workers} x `db_worker --queue-name webhooks "
                f"--interval {args.interval}`, PostgreSQL, loopback receiver verifying signatures, "
                f"{os.cpu_count()} cores shared by all"
            ),
            "events_per_visit": EVENTS_PER_VISIT,
            "latency_post_to_webhook": latency,
            "throughput_posting_with_workers_running": throughput,
            "throughput_draining_a_backlog": drain,
            "receiver": {
                "webhooks": len(billing.webhook_ids),
                "duplicates": billing.duplicates,
                "bad_signatures": billing.bad_signatures,
            },
            "targets": {"p95_ms<1000": latency["p95_ms"] < 1000},
        }
        print(json.dumps(report, indent=2))
        return 0
    finally:
        for process in processes:
            stop(process)
        billing.stop()
        if not args.keep_db:
            admin(base, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
