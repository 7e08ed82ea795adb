"""Claim → submit throughput of the work API against a real gunicorn on PostgreSQL, next to
the database's own floor for the same work.

    python bench/claim.py [--tasks 100000] [--seconds 10] [--clients 1,4,16]
                          [--workers cores+1] [--worker-class sync|gthread] [--threads 4]
    python bench/claim.py --explain [--tasks 1000000]

Run it with the project's virtualenv Python (gunicorn is taken from beside it). Creates a
fresh database (named after this process, dropped at the end), migrates it, loads `--tasks`
open snippet-annotation tasks (and as many for the floor) with one INSERT … SELECT each, makes
16 associates with tokens, starts `gunicorn config.wsgi` with cores + 1 sync workers on a free
port, then for each K:

- app: K HTTP clients (one associate each) loop POST /tasks/next/ → POST /tasks/{id}/submit/
  for `--seconds` (the two-request cycle);
- app_chained: the same clients loop POST /tasks/{id}/submit/ with `"next": true`, each
  answer carrying the next lease (the workbench's way: one request per cycle);
- floor: K psycopg2 connections loop two bare statements (an `UPDATE … WHERE id = (SELECT …
  FOR UPDATE SKIP LOCKED LIMIT 1)` claim, one conditional UPDATE to done) on the floor queue,
  autocommit, for the same time: what the database alone can do, for scale.

Afterwards it checks the database for double assignments (a task with two annotations, an
annotation without its done slot, a floor slot claimed twice). Prints one JSON object, with
the CPU milliseconds per cycle spent by the server, the database and the bench's own clients
(they share the machine's cores).
Targets: claim p95 < 20 ms at K=1; at K=8 and K=16, two-request (app) cycles/s within 25 % of
the previous engine's (hand-built SQL, prepared statements), measured taking turns with a
checkout of it on the same machine. (The earlier absolute bars, ≥ 400 cycles/s at K=16 and
app/floor ≥ 0.2, are retired.)

`--explain` loads `--tasks` (default 1,000,000) open tasks, gives one associate 2,000 done
slots (once after an ANALYZE, so the statistics are stale, as in a busy queue's first hours,
then again with fresh ones), captures the statements of a claim (`task_claim`, rolled back) and
runs them under EXPLAIN (ANALYZE, BUFFERS). It fails unless the claim's locking select is an
index scan of `slot_claim_order` with no Sort, its "held or done by me" probe an index lookup
by task per candidate (never a pass over the associate's history of slots), and the "held by
me" probe of the claim's first statement a lookup in the unique `slot_one_held_per_queue`.
Then the associate claims a task and the statements of its submit (`task_submit`, captured,
rolled back and re-run under EXPLAIN ANALYZE) must use no Seq Scan (lookups by key only,
whatever the queue's size).
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg2
from common import RATE_LIMITS, CpuMeter, RssSampler, admin, database_url, free_port

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
ASSOCIATES = 16
SEED = """
import json
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from annotator.models import Queue, QueueMembership
from catalog.models import Store, StoreAccess
store = Store.objects.create(code="B001", name="Bench store")
app = Queue.objects.create(store=store, kind="snippet_annotation", name="Bench", lease_seconds=300)
floor = Queue.objects.create(store=store, kind="snippet_annotation", name="Floor", lease_seconds=300)
group = Group.objects.get_or_create(name="associate")[0]
tokens, ids = [], []
for n in range(%(n)d):
    user = User.objects.create_user(f"bench-{n:02d}")
    user.groups.add(group)
    StoreAccess.objects.create(store=store, user=user)
    QueueMembership.objects.create(queue=app, user=user)
    tokens.append(Token.objects.create(user=user).key)
    ids.append(user.pk)
print(json.dumps({"store": store.pk, "app": str(app.pk), "floor": str(floor.pk), "tokens": tokens, "ids": ids}))
"""
EXPLAIN = """
import uuid
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from annotator.models import Slot, Task
from annotator.services.work import task_claim
from annotator.services.submit import task_submit
user = User.objects.get(username="bench-00")
# The associate has history: done slots on other tasks (what the "not mine" probe must not read).
done = list(Task.objects.filter(queue_id="%(queue)s").order_by("-due_at").values_list("pk", flat=True)[:2000])
def statements(queries):
    return [q["sql"] for q in queries.captured_queries if q["sql"].split(" ", 1)[0] in ("SELECT", "UPDATE", "INSERT")]
def explain(sql, marker):
    print(marker)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        print("\\n".join(row[0] for row in cursor.fetchall()))
def plan():
    # The claim's statements, as it sends them, then each under EXPLAIN ANALYZE (all rolled back).
    with transaction.atomic():
        point = transaction.savepoint()
        with CaptureQueriesContext(connection) as queries:
            task_claim(associate=user)
        transaction.savepoint_rollback(point)
        start, select, *_ = statements(queries)
        explain(start, "-- held --")
        explain(select, "-- claim --")
        transaction.set_rollback(True)
# Stale statistics first (the history came after the last ANALYZE), then fresh ones.
with connection.cursor() as cursor:
    cursor.execute("ANALYZE annotator_slot")
Slot.objects.filter(task_id__in=done).update(holder=user, state="done")
plan()
with connection.cursor() as cursor:
    cursor.execute("ANALYZE annotator_slot")
plan()
# The submit's statements, for a task the associate just claimed (all rolled back).
with transaction.atomic():
    lease = task_claim(associate=user)
    point = transaction.savepoint()
    with CaptureQueriesContext(connection) as queries:
        result = {"action": "none", "boxes": []}
        task_submit(associate=user, task_id=lease.task.pk, result=result, submission_id=uuid.uuid4())
    transaction.savepoint_rollback(point)
    for sql in statements(queries):
        explain(sql, "-- submit --")
    transaction.set_rollback(True)
"""
LOAD = """
INSERT INTO annotator_task (id, queue_id, store_id, kind, subject_id, priority, due_at, status, overlap,
                            annotations_done, payload, purpose, created_at)
SELECT gen_random_uuid(), %(queue)s, %(store)s, 'snippet_annotation', gen_random_uuid(),
       CASE WHEN n %% 50 = 0 THEN 1 ELSE 0 END, now() + n * interval '1 second', 'open', 1, 0,
       '{"snippet": null, "width": 320, "height": 240, "fps": 10, "frame_count": 30, "predictions": []}',
       'annotate', now()
FROM generate_series(1, %(count)s) AS n;
INSERT INTO annotator_slot (task_id, index, state, queue_id, priority, due_at, created_at, lease_token,
                            active_seconds)
SELECT id, 0, 'open', queue_id, priority, due_at, created_at, 0, 0 FROM annotator_task WHERE queue_id = %(queue)s;
"""
FLOOR_CLAIM = """
UPDATE annotator_slot SET holder_id = %s, lease_token = lease_token + 1, leased_at = now(),
       lease_expires_at = now() + interval '300 seconds', last_heartbeat_at = now()
WHERE id = (SELECT id FROM annotator_slot
            WHERE queue_id = %s AND state = 'open' AND (holder_id IS NULL OR lease_expires_at < now())
            ORDER BY priority DESC, due_at, created_at, id FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING id
"""
FLOOR_DONE = "UPDATE annotator_slot SET state = 'done' WHERE id = %s AND holder_id = %s AND state = 'open'"


def manage(env: dict, *args: str, code: str | None = None) -> str:
    command = [PY, "manage.py", *args] if code is None else [PY, "manage.py", "shell", "-c", code]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args) or 'shell'} failed:\n{done.stderr}")
    return done.stdout


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000, 2)


def timings(values: list[float]) -> dict:
    return {
        "p50_ms": round(statistics.median(values) * 1000, 2) if values else 0.0,
        "p95_ms": percentile(values, 0.95),
        "p99_ms": percentile(values, 0.99),
    }


class Client:
    """One bench client's HTTP/1.1 connection on a raw socket: each request is one write of
    pre-encoded headers and body, each answer is read by its Content-Length. The clients share
    the two cores with the server and the database, so every microsecond they spend is taken
    from what is measured: `http.client` cost 0.61–0.71 ms of CPU per two-request cycle, this
    0.33–0.34 (same runs, taking turns). It reconnects when the server closes the connection (`Connection:
    close`: gunicorn's sync workers do after each answer; gthread workers keep it open), and
    resends once when a kept-alive connection turns out closed before any answer (a claim is a
    resume, a submit is idempotent by its submission_id)."""

    def __init__(self, host: str, port: int, token: str):
        self.address = (host, port)
        self.headers = (
            f"Host: {host}:{port}\r\nAuthorization: Token {token}\r\nContent-Type: application/json\r\n"
        ).encode()
        self.sock: socket.socket | None = None

    def post(self, path: str, body: dict) -> tuple[int, bytes]:
        payload = json.dumps(body).encode()
        request = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (
            path.encode(),
            self.headers,
            len(payload),
            payload,
        )
        reused = self.sock is not None
        try:
            return self._exchange(request)
        except ConnectionError:
            self.close()
            if not reused:
                raise
            return self._exchange(request)

    def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(self.address)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection before answering")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *lines = head.split(b"\r\n")
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(b":") for line in lines)}
        length = headers.get(b"content-length")
        while length is None or len(body) < int(length):
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            body += chunk
        if length is None or headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return int(status_line.split(b" ", 2)[1]), body

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def run_app(base_url: str, tokens: list[str], k: int, seconds: float, *, chained: bool = False) -> dict:
    """K clients loop claim → submit for `seconds`. `chained`: after the first claim each
    submit asks for the next task (`"next": true`) and gets its lease in the same answer, as
    the workbench does: the same claim and submit work, one request per cycle."""
    claims: list[float] = []
    submits: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port

    def client(token: str) -> None:
        my_claims, my_submits, my_errors = [], [], []
        conn = Client(host, port, token)
        lease = None
        while time.perf_counter() < stop:
            if lease is None:
                start = time.perf_counter()
                status, body = conn.post("/api/v1/tasks/next/", {})
                my_claims.append(time.perf_counter() - start)
                if status != 200:
                    my_errors.append(f"next {status}")
                    continue
                lease = json.loads(body)
            body = {"result": {"action": "none", "boxes": []}, "submission_id": str(uuid.uuid4())}
            if chained:
                body["next"] = True
            start = time.perf_counter()
            status, answer = conn.post(f"/api/v1/tasks/{lease['task']['id']}/submit/", body)
            my_submits.append(time.perf_counter() - start)
            lease = json.loads(answer).get("next") if chained and status == 200 else None
            if status != 200:
                my_errors.append(f"submit {status}")
        conn.close()
        with lock:
            claims.extend(my_claims)
            submits.extend(my_submits)
            for error in my_errors:
                errors[error] = errors.get(error, 0) + 1

    threads = [threading.Thread(target=client, args=(tokens[n],)) for n in range(k)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    result = {"cycles": len(submits), "cycles_per_s": round(len(submits) / wall, 1)}
    if chained:
        return result | {"submit_with_next": timings(submits), "errors": errors}
    return result | {"claim": timings(claims), "submit": timings(submits), "errors": errors}


def measure_app(meter: CpuMeter, base_url: str, tokens: list[str], k: int, seconds: float, *, chained: bool) -> dict:
    """`run_app` with the CPU each side spent per cycle: the server's workers, the database
    backends and these clients (all on the same cores)."""
    run_app(base_url, tokens, k, 1.0, chained=chained)  # warm the workers' connections
    before, client_before = meter.read(), time.process_time()
    app = run_app(base_url, tokens, k, seconds, chained=chained)
    after, client_after = meter.read(), time.process_time()
    cycles = max(app["cycles"], 1)
    app["cpu_ms_per_cycle"] = {
        "server": round((after[0] - before[0]) * 1000 / cycles, 2),
        "database": round((after[1] - before[1]) * 1000 / cycles, 2),
        "bench_clients": round((client_after - client_before) * 1000 / cycles, 2),
    }
    return app


def run_floor(dsn: str, queue_id: str, user_ids: list[int], k: int, seconds: float) -> dict:
    claims: list[float] = []
    submits: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(user_id: int) -> None:
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        my_claims, my_submits = [], []
        with conn.cursor() as cur:
            while time.perf_counter() < stop:
                start = time.perf_counter()
                cur.execute(FLOOR_CLAIM, (user_id, queue_id))
                row = cur.fetchone()
                my_claims.append(time.perf_counter() - start)
                if row is None:
                    break
                start = time.perf_counter()
                cur.execute(FLOOR_DONE, (row[0], user_id))
                my_submits.append(time.perf_counter() - start)
        conn.close()
        with lock:
            claims.extend(my_claims)
            submits.extend(my_submits)

    threads = [threading.Thread(target=client, args=(user_ids[n],)) for n in range(k)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "cycles": len(submits),
        "cycles_per_s": round(len(submits) / wall, 1),
        "claim": timings(claims),
        "submit": timings(submits),
    }


def double_assignments(dsn: str, app_queue: str, floor_queue: str) -> dict:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM (SELECT task_id FROM annotator_annotation GROUP BY task_id"
                " HAVING count(*) > 1) AS twice"
            )
            tasks_annotated_twice = cur.fetchone()[0]
            cur.execute(
                "SELECT count(*) FROM annotator_annotation a JOIN annotator_slot s ON s.id = a.slot_id"
                " WHERE s.state <> 'done' OR s.holder_id <> a.associate_id"
            )
            annotation_without_its_slot = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM annotator_slot WHERE queue_id = %s AND lease_token > 1", (floor_queue,))
            floor_slots_claimed_twice = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM annotator_slot WHERE queue_id = %s AND lease_token > 1", (app_queue,))
            app_slots_claimed_twice = cur.fetchone()[0]
    finally:
        conn.close()
    return {
        "tasks_annotated_twice": tasks_annotated_twice,
        "annotations_without_their_done_slot": annotation_without_its_slot,
        "slots_claimed_twice": app_slots_claimed_twice + floor_slots_claimed_twice,
    }


def wait_ready(url: str, proc: subprocess.Popen) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("gunicorn did not become ready")


def load(dsn: str, seeded: dict, count: int, queues: list[str]) -> float:
    started = time.perf_counter()
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        for queue in queues:
            cur.execute(LOAD, {"queue": queue, "store": seeded["store"], "count": count})
        cur.execute("VACUUM ANALYZE annotator_task")
        cur.execute("VACUUM ANALYZE annotator_slot")
    conn.close()
    return round(time.perf_counter() - started, 1)


def sections(output: str) -> dict[str, list[str]]:
    """The EXPLAIN script's plans by marker (`-- held --`, `-- claim --`, `-- submit --`),
    each marker's plans joined, lines stripped."""
    found: dict[str, list[str]] = {}
    current = None
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("-- ") and line.endswith(" --"):
            current = found.setdefault(line.strip("- "), [])
        elif current is not None:
            current.append(line)
    return found


def explain(env: dict, dsn: str, seeded: dict, count: int) -> dict:
    load_s = load(dsn, seeded, count, [seeded["app"]])
    found = sections(manage(env, code=EXPLAIN % {"queue": seeded["app"]}))
    held, claim, submit = ("\n".join(found.get(name, [])) for name in ("held", "claim", "submit"))
    checks = {
        # The claim's locking select: the queue's index read in order, no Sort.
        "index_scan_on_slot_claim_order": "Index Scan using slot_claim_order" in claim,
        "no_sort": "Sort  (" not in claim,
        # The claim's cost estimate passes jit_above_cost: settings turn JIT off (~200 ms a claim).
        "no_jit": "JIT:" not in claim + held,
        # "my held slot of this queue" (the claim's first statement, per queue): a lookup in
        # the unique slot_one_held_per_queue, never a pass over the queue.
        "held_probe_is_a_lookup": "slot_one_held_per_queue" in held and "slot_claim_order" not in held,
        # "another slot of this task held or done by me": one index lookup by task per candidate
        # (the unique (task, holder) one), never a pass over my history.
        "mine_probe_is_a_lookup_by_task": any(
            line.startswith("Index Cond:") and "task_id = annotator_slot.task_id" in line
            for line in found.get("claim", [])
        )
        and "annotator_slot_holder_id" not in claim
        and "hashed SubPlan" not in claim
        and "Anti Join" not in claim,
        # The submit's statements: lookups by key only, whatever the queue's size.
        "submit_uses_no_seq_scan": "Index Scan" in submit and "Seq Scan" not in submit,
    }
    print("-- held --", held, "-- claim --", claim, "-- submit --", submit, sep="\n", file=sys.stderr)
    return {
        "open_tasks": count,
        "load_s": load_s,
        **checks,
        "ok": all(checks.values()),
        "held_plan": held.splitlines(),
        "claim_plan": claim.splitlines(),
        "submit_plan": submit.splitlines(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=None, help="open tasks (100,000; 1,000,000 with --explain)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per K and per mode")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1, help="gunicorn workers (cores + 1)")
    parser.add_argument(
        "--worker-class", default="sync", choices=["sync", "gthread"], help="gthread: threads and keep-alive"
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--explain", action="store_true", help="only the EXPLAIN check")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    ks = [int(k) for k in args.clients.split(",")]
    if args.worker_class == "sync":
        args.threads = 1  # gunicorn turns a sync worker with threads into gthread
    if max(ks) > ASSOCIATES:
        parser.error(f"at most {ASSOCIATES} clients")
    count = args.tasks or (1_000_000 if args.explain else 100_000)

    base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    # Named after this process: two benches on one server never drop each other's database.
    db_name = f"loupe_bench_claim_{'explain_' if args.explain else ''}{os.getpid()}"
    dsn = database_url(base, db_name)
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "DATABASE_CONN_MAX_AGE": "600",
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback
        "SECRET_KEY": "bench",
        **RATE_LIMITS,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    admin(base, f"DROP DATABASE IF EXISTS {db_name}")
    admin(base, f"CREATE DATABASE {db_name}")
    server = None
    try:
        manage(env, "migrate", "--noinput", "-v0")
        seeded = json.loads(manage(env, code=SEED % {"n": ASSOCIATES}).strip().splitlines()[-1])
        if args.explain:
            result = explain(env, dsn, seeded, count)
            print(json.dumps(result, indent=2))
            return 0 if result["ok"] else 1

        load_s = load(dsn, seeded, count, [seeded["app"], seeded["floor"]])
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                GUNICORN,
                "config.wsgi",
                *("-w", str(args.workers), "--worker-class", args.worker_class, "--threads", str(args.threads)),
                *("--keep-alive", "5", "-b", f"127.0.0.1:{port}", "--log-level", "warning"),
            ],
            cwd=ROOT,
            env=env,
        )
        wait_ready(url, server)
        meter = CpuMeter(RssSampler(server.pid), dsn)
        results = {}
        for k in ks:
            app = measure_app(meter, url, seeded["tokens"], k, args.seconds, chained=False)
            chained = measure_app(meter, url, seeded["tokens"], k, args.seconds, chained=True)
            floor = run_floor(dsn, seeded["floor"], seeded["ids"], k, args.seconds)
            results[f"K={k}"] = {
                "app": app,
                "app_chained": chained,
                "db_floor": floor,
                "ratio_app_to_floor": round(app["cycles_per_s"] / floor["cycles_per_s"], 3)
                if floor["cycles_per_s"]
                else None,
                "ratio_chained_to_floor": round(chained["cycles_per_s"] / floor["cycles_per_s"], 3)
                if floor["cycles_per_s"]
                else None,
            }
        checks = double_assignments(dsn, seeded["app"], seeded["floor"])
        print(
            json.dumps(
                {
                    "open_tasks_per_queue": count,
                    "load_s": load_s,
                    "gunicorn": {"workers": args.workers, "worker_class": args.worker_class, "threads": args.threads},
                    "cores": os.cpu_count(),
                    "seconds_per_run": args.seconds,
                    "results": results,
                    "double_assignments": checks,
                    "targets": {
                        "claim_p95_ms_at_1": "< 20",
                        "app_cycles_per_s_at_8_and_16": "within 25 % of the previous engine's, same machine",
                    },
                },
                indent=2,
            )
        )
        return 1 if any(checks.values()) else 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if not args.keep_db:
            admin(base, f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
