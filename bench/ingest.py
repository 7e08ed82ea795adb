"""Visit ingestion throughput against a real gunicorn server on PostgreSQL.

    .venv/bin/python bench/ingest.py [--single 800] [--bulk 4000] [--batch 250]

Creates a fresh database (dropped at the end), migrates it, seeds one store with 200 products
and an integration token, starts `gunicorn config.wsgi` with 2 x cores + 1 sync workers
(gunicorn's rule of thumb: a request spends much of its time waiting on PostgreSQL, above all
on the commit's WAL flush, so more workers than cores keep the cores busy and 4 clients never
queue behind each other) on a free local port, then:

- single: `--single` visits of 10 events posted to POST /api/v1/visits/ by 4 concurrent clients;
- bulk: `--bulk` visits of 10 events posted to POST /api/v1/visits/bulk/ in batches of
  `--batch` by 2 concurrent clients.

A realistic mix: about 70 % of visits are sure (auto-accepted, receipt issued), 30 % go to
review (task queued). Prints one JSON object: visits/s, events/s, p50/p95 latency per mode,
the server's peak RSS (gunicorn master + workers, sampled from /proc), the load average
before and after, and the CPU milliseconds per visit spent by the app (gunicorn workers) and
by PostgreSQL (its backends for the bench database). On a shared machine the rates move with
the load; the CPU per visit much less so.
Targets: bulk >= 3,000 events/s; single p95 < 50 ms at 4 clients.
"""

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
from common import CpuMeter, RssSampler, admin, migrate_and_seed, server_environment, start_gunicorn, stop_server

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
DB_NAME = "loupe_bench_ingest"
EVENTS_PER_VISIT = 10
# Yesterday 10:00 UTC: visits must have ended within VISIT_MAX_AGE_DAYS.
DAY = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).date().isoformat()
SEED = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from catalog.models import Camera, Product, Store, StoreAccess
store = Store.objects.create(code="B001", name="Bench store", auto_accept_threshold=0.9, audit_rate=0.02)
Camera.objects.bulk_create(Camera(store=store, code=f"C{n:02d}") for n in range(1, 9))
Product.objects.bulk_create(
    Product(store=store, sku=f"SKU-{n:04d}", name=f"Product {n}", price_minor=99 + n, currency="EUR")
    for n in range(1, 201)
)
user = User.objects.create_user("bench-cv")
user.groups.add(Group.objects.get_or_create(name="integration")[0])
StoreAccess.objects.create(store=store, user=user)
print(Token.objects.create(user=user).key)
"""


def visit(rng: random.Random, n: int, prefix: str) -> dict:
    sure = rng.random() < 0.7
    events = []
    for e in range(EVENTS_PER_VISIT):
        confidence = rng.uniform(0.9, 1.0) if sure else rng.uniform(0.3, 1.0)
        events.append(
            {
                "external_id": f"e{e}",
                "action": "put_back" if e % 5 == 4 else "take",
                "sku": f"SKU-{rng.randint(1, 200):04d}",
                "quantity": rng.randint(1, 3),
                "confidence": round(confidence, 4),
                "occurred_at": f"{DAY}T10:{e:02d}:11Z",
                "camera": f"C{rng.randint(1, 8):02d}",
                "candidates": [{"sku": f"SKU-{rng.randint(1, 200):04d}", "score": 0.05}],
            }
        )
    if not sure:
        events[rng.randrange(EVENTS_PER_VISIT)]["confidence"] = 0.42
    return {
        "external_id": f"{prefix}-{n:07d}",
        "store": "B001",
        "shopper": f"anon-{n:06x}",
        "entered_at": f"{DAY}T10:00:00Z",
        "exited_at": f"{DAY}T10:30:00Z",
        "model_version": "bench-1",
        "events": events,
    }


def cpu_per_visit(before: tuple[float, float], after: tuple[float, float], visits: int) -> dict:
    return {
        "app_cpu_ms_per_visit": round((after[0] - before[0]) * 1000 / visits, 2),
        "db_cpu_ms_per_visit": round((after[1] - before[1]) * 1000 / visits, 2),
    }


def run_clients(url: str, token: str, bodies: list[bytes], clients: int, expect_items: bool) -> dict:
    """Post the pre-encoded bodies from `clients` threads; return latency and status figures."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    queue = list(reversed(bodies))

    def worker() -> None:
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        with httpx.Client(headers=headers, timeout=120) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                start = time.perf_counter()
                response = client.post(url, content=body)
                elapsed = time.perf_counter() - start
                codes = (
                    [str(item["status_code"]) for item in response.json()["results"]]
                    if expect_items and response.status_code == 200
                    else [str(response.status_code)]
                )
                with lock:
                    latencies.append(elapsed)
                    for code in codes:
                        statuses[code] = statuses.get(code, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    latencies.sort()
    return {
        "wall_s": round(wall, 3),
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000, 1),
        "statuses": statuses,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--single", type=int, default=800, help="visits posted one by one")
    parser.add_argument("--bulk", type=int, default=4000, help="visits posted in bulk")
    parser.add_argument("--batch", type=int, default=250, help="visits per bulk request (100-500)")
    parser.add_argument("--single-clients", type=int, default=4)
    parser.add_argument("--bulk-clients", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=1, help="more than 1: gthread workers")
    parser.add_argument("--keep-db", action="store_true", help="leave the database for inspection")
    args = parser.parse_args()
    if not 1 <= args.batch <= 500:
        parser.error("--batch must be between 1 and 500")

    base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    env = server_environment(base, DB_NAME, DATABASE_CONN_MAX_AGE="600")
    admin(base, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    admin(base, f"CREATE DATABASE {DB_NAME}")
    server = None
    try:
        token = migrate_and_seed(PY, env, SEED)
        server, base_url = start_gunicorn(
            GUNICORN, env, "-w", str(args.workers), "--threads", str(args.threads), "--log-level", "warning", wait_s=15
        )
        sampler = RssSampler(server.pid)
        sampler.start()

        load_before = os.getloadavg()
        rng = random.Random(20261124)
        warm = [json.dumps(visit(rng, n, "warm")).encode() for n in range(40)]
        run_clients(f"{base_url}/api/v1/visits/", token, warm, args.single_clients, expect_items=False)

        meter = CpuMeter(sampler, env["DATABASE_URL"])
        single_bodies = [json.dumps(visit(rng, n, "single")).encode() for n in range(args.single)]
        cpu_before = meter.read()
        single = run_clients(f"{base_url}/api/v1/visits/", token, single_bodies, args.single_clients, False)
        single.update(cpu_per_visit(cpu_before, meter.read(), args.single))

        batches = [
            json.dumps(
                {"visits": [visit(rng, n, "bulk") for n in range(start, min(start + args.batch, args.bulk))]}
            ).encode()
            for start in range(0, args.bulk, args.batch)
        ]
        cpu_before = meter.read()
        bulk = run_clients(f"{base_url}/api/v1/visits/bulk/", token, batches, args.bulk_clients, expect_items=True)
        bulk.update(cpu_per_visit(cpu_before, meter.read(), args.bulk))
        sampler.stop.set()

        for result, visits in ((single, args.single), (bulk, args.bulk)):
            result["visits"] = visits
            result["visits_per_s"] = round(visits / result["wall_s"], 1)
            result["events_per_s"] = round(visits * EVENTS_PER_VISIT / result["wall_s"], 1)
        single["clients"], bulk["clients"], bulk["batch"] = args.single_clients, args.bulk_clients, args.batch
        report = {
            "server": f"gunicorn -w {args.workers} --threads {args.threads} "
            f"({'gthread' if args.threads > 1 else 'sync'}), PostgreSQL, {os.cpu_count()} cores shared with clients",
            "load_average_1_5_15": {"before": load_before, "after": os.getloadavg()},
            "events_per_visit": EVENTS_PER_VISIT,
            "single": single,
            "bulk": bulk,
            "server_peak_rss_mb": round(sampler.peak_kb / 1024, 1),
            "targets": {
                "bulk_events_per_s>=3000": bulk["events_per_s"] >= 3000,
                "single_p95_ms<50": single["p95_ms"] < 50,
            },
        }
        print(json.dumps(report, indent=2))
        return 0
    finally:
        stop_server(server)
        if not args.keep_db:
            admin(base, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
