"""The supervisor's dashboard and metrics at scale: 1 million tasks, 10 million events.

    .venv/bin/python bench/dashboard.py [--visits 1000000] [--snippet-tasks 700000] [--repeat 30]
                                        [--keep] [--reuse] [--explain]

Creates a fresh PostgreSQL database (dropped at the end unless --keep), migrates it and
generates the data set in SQL with generate_series (no Python loops, no ORM): 20 stores with
two queues each, 50 associates and a supervisor of every store; `--visits` visits spread
over 30 days with 10 events each (70 % auto-accepted, 2 % of those audited), one receipt per
visit, a review task per reviewed visit plus `--snippet-tasks` snippet tasks (about 1 M
tasks in all, the last hour's still open, a few leased), an annotation per finished task,
labels for a third of the reviewed visits' events, and six hours of queue depth samples.
Ids are derived from the row number (increasing uuids) so child rows need no joins; foreign
keys are not checked row by row and secondary indexes are built once after the load.

Then times, `--repeat` times each (after one warm-up call), every selector the console and
the metrics endpoints run, for the supervisor of all 20 stores (the worst case), and
`GET /api/v1/metrics/` through Django's test client; prints one JSON object with p50/p95 in
milliseconds, the load time and the row counts. `--explain` adds EXPLAIN (ANALYZE, BUFFERS) of
every query the day-window figures run (their scans and times). Target: p95 < 200 ms.

`--keep` keeps the database; `--reuse` times a kept one again after migrating it (so a new
migration's backfill runs on the 1 M rows, timed as `migrate_s`). Both runs VACUUM (ANALYZE)
before timing, as autovacuum would on a live server.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "loupe_bench_dashboard"
STORES = 20
ASSOCIATES = 50
WINDOW_S = 30 * 86400

GENERATE = """
SET synchronous_commit = off;
SET work_mem = '256MB';
SET maintenance_work_mem = '512MB';

-- Ids increase with the row number (a type digit, then the number in hex), so every index
-- is appended to rather than written at random places.
CREATE FUNCTION pg_temp.uid(kind text, n bigint) RETURNS uuid
    LANGUAGE sql IMMUTABLE AS $$ SELECT (kind || lpad(to_hex(n), 31, '0'))::uuid $$;

-- Bulk load: foreign keys are not checked row by row (the data is built consistent) and the
-- secondary indexes of the big tables are built once at the end.
CREATE TEMP TABLE saved_indexes AS
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = 'public'
  AND tablename IN ('validation_visit', 'validation_event', 'validation_receipt', 'annotator_task', 'annotator_slot',
                    'annotator_annotation', 'annotator_label')
  AND indexname NOT IN (SELECT conname FROM pg_constraint);
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexname FROM saved_indexes LOOP EXECUTE format('DROP INDEX %I', r.indexname); END LOOP;
END $$;
ALTER TABLE validation_visit DISABLE TRIGGER ALL;
ALTER TABLE validation_event DISABLE TRIGGER ALL;
ALTER TABLE validation_receipt DISABLE TRIGGER ALL;
ALTER TABLE annotator_task DISABLE TRIGGER ALL;
ALTER TABLE annotator_slot DISABLE TRIGGER ALL;
ALTER TABLE annotator_annotation DISABLE TRIGGER ALL;
ALTER TABLE annotator_label DISABLE TRIGGER ALL;

INSERT INTO catalog_store (id, code, name, timezone, currency, auto_accept_threshold, sla_minutes, audit_rate)
SELECT s, 'S' || lpad(s::text, 3, '0'), 'Bench store ' || s, 'UTC', 'EUR', 0.9, 15, 0.02
FROM generate_series(1, {stores}) s;
SELECT setval(pg_get_serial_sequence('catalog_store', 'id'), {stores});

INSERT INTO catalog_product (store_id, sku, name, price_minor, currency, image, thumbnail, active)
SELECT s, 'SKU-' || p, 'Product ' || p, 100 + p, 'EUR', '', '', true
FROM generate_series(1, {stores}) s, generate_series(0, 9) p;

INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                       date_joined)
SELECT u, '!', false, CASE WHEN u = 1 THEN 'boss' ELSE 'worker' || u END, '', '', '', false, true, now()
FROM generate_series(1, {associates} + 1) u;
SELECT setval(pg_get_serial_sequence('auth_user', 'id'), {associates} + 1);
INSERT INTO auth_user_groups (user_id, group_id)
SELECT u, (SELECT id FROM auth_group WHERE name = CASE WHEN u = 1 THEN 'supervisor' ELSE 'associate' END)
FROM generate_series(1, {associates} + 1) u;
INSERT INTO catalog_storeaccess (store_id, user_id, granted_at)
SELECT s, 1, now() FROM generate_series(1, {stores}) s
UNION ALL SELECT 1 + (u % {stores}), u, now() FROM generate_series(2, {associates} + 1) u;

INSERT INTO annotator_queue (id, store_id, kind, name, is_paused, lease_seconds, overlap, created_at)
SELECT pg_temp.uid('9', s), s, 'visit_validation', 'Visit validation', false, 300, 1, now() - interval '31 days'
FROM generate_series(1, {stores}) s
UNION ALL
SELECT pg_temp.uid('9', 1000 + s), s, 'snippet_annotation', 'Snippet annotation', false, 300, 1,
       now() - interval '31 days'
FROM generate_series(1, {stores}) s;
INSERT INTO annotator_queuemembership (queue_id, user_id, added_at)
SELECT q.id, u.user_id, now() FROM annotator_queue q JOIN catalog_storeaccess u ON u.store_id = q.store_id
WHERE u.user_id > 1;

-- Visits: n = 0 .. visits-1; exit spread over 30 days by a multiplicative hash of n.
CREATE TEMP TABLE v AS
SELECT n,
       pg_temp.uid('1', n) AS id,
       1 + n % {stores} AS store_id,
       now() - ((n::bigint * 2654435761) % {window}) * interval '1 second' - interval '1 minute' AS exited_at,
       n % 10 < 7 AS auto,
       'jwo-' || (n % 3) AS model_version
FROM generate_series(0, {visits} - 1) n;

INSERT INTO validation_visit (id, store_id, external_id, shopper, entered_at, exited_at, model_version, status,
    decision, threshold, min_confidence, audited, due_at, body_sha256, predicted_cart, final_cart, received_at,
    validated_at, audit_outcome, audit_completed_at)
SELECT id, store_id, 'v-' || n, 'anon', exited_at - interval '8 minutes', exited_at, model_version,
       CASE WHEN auto THEN 'auto_accepted' ELSE 'validated' END,
       CASE WHEN auto THEN 'auto_accept' ELSE 'review' END, 0.9,
       CASE WHEN auto THEN 0.9 + (n % 97) / 1000.0 ELSE 0.3 + (n % 59) / 100.0 END,
       auto AND n % 50 = 0,
       CASE WHEN auto THEN NULL ELSE exited_at + interval '15 minutes' END,
       md5(n::text), '[]'::jsonb, '[]'::jsonb, exited_at,
       CASE WHEN auto THEN NULL ELSE exited_at + interval '9 minutes' END,
       CASE WHEN auto AND n % 50 = 0 THEN CASE WHEN n % 1000 = 0 THEN 'corrected' ELSE 'confirmed' END ELSE '' END,
       CASE WHEN auto AND n % 50 = 0 THEN exited_at + interval '2 hours' END
FROM v;

-- The first receipt carries the turnaround fields `receipt_turnaround` writes (SLA 15 min).
INSERT INTO validation_receipt (id, visit_id, supersedes_id, kind, total_minor, currency, issued_at,
    store_id, decision, exited_at, turnaround_s, inside_sla)
SELECT pg_temp.uid('2', n), id, NULL, 'receipt.issued', 1000, 'EUR', exited_at + took * interval '1 second',
       store_id, CASE WHEN auto THEN 'auto_accept' ELSE 'review' END, exited_at, took, took <= 900
FROM (SELECT *, CASE WHEN auto THEN 1 + n % 4 ELSE 60 + (n::bigint * 7919) % 1500 END::double precision AS took
      FROM v) timed;

-- Events: ten per visit, g = 10 n + seq.
INSERT INTO validation_event (id, visit_id, seq, external_id, action, product_id, sku, quantity, confidence,
    occurred_at, camera_id, snippet_id, candidates)
SELECT pg_temp.uid('3', g), pg_temp.uid('1', g / 10), g % 10, 'e' || (g % 10), 'take',
       (SELECT min(id) FROM catalog_product) + ((g / 10) % {stores}) * 10 + g % 10, 'SKU-' || (g % 10), 1,
       CASE WHEN (g / 10) % 10 < 7 THEN 0.9 + (g % 97) / 1000.0 ELSE 0.3 + (g % 70) / 100.0 END,
       now() - interval '1 day', NULL, NULL, '[]'::jsonb
FROM generate_series(0, {visits}::bigint * 10 - 1) g;

-- Tasks: one per reviewed visit (k = n) and snippet tasks (k >= visits). Open in the last hour.
CREATE TEMP TABLE t AS
SELECT n AS k, pg_temp.uid('4', n) AS id, pg_temp.uid('9', store_id) AS queue_id, store_id, 'visit_validation' AS kind,
       id AS subject_id, exited_at AS created_at, exited_at + interval '15 minutes' AS due_at
FROM v WHERE NOT auto
UNION ALL
SELECT k, pg_temp.uid('4', k), pg_temp.uid('9', 1000 + 1 + k % {stores}), 1 + k % {stores}, 'snippet_annotation',
       pg_temp.uid('7', k), now() - ((k::bigint * 40503) % {window}) * interval '1 second',
       now() - ((k::bigint * 40503) % {window}) * interval '1 second' + interval '1 hour'
FROM generate_series({visits}, {visits} + {snippet_tasks} - 1) k;
ALTER TABLE t ADD COLUMN open boolean;
UPDATE t SET open = created_at > now() - interval '1 hour';
ALTER TABLE t ADD COLUMN associate int;
UPDATE t SET associate = 2 + (k % {associates});

INSERT INTO annotator_task (id, queue_id, store_id, kind, subject_id, priority, due_at, status, overlap,
    annotations_done, payload, purpose, created_at, done_at)
SELECT id, queue_id, store_id, kind, subject_id, 0, due_at, CASE WHEN open THEN 'open' ELSE 'done' END, 1,
       CASE WHEN open THEN 0 ELSE 1 END, '{{}}'::jsonb,
       CASE WHEN kind = 'visit_validation' THEN 'review' ELSE 'annotate' END,
       created_at, CASE WHEN open THEN NULL ELSE created_at + interval '5 minutes' END
FROM t;

INSERT INTO annotator_slot (id, task_id, index, state, queue_id, priority, due_at, created_at, holder_id,
    lease_token, leased_at, lease_expires_at, last_heartbeat_at, active_seconds)
SELECT k + 1, id, 0, CASE WHEN open THEN 'open' ELSE 'done' END, queue_id, 0, due_at, created_at,
       CASE WHEN NOT open OR k % 7 = 0 THEN associate END, 1,
       CASE WHEN open AND k % 7 = 0 THEN now() - interval '1 minute' END,
       CASE WHEN open AND k % 7 = 0 THEN now() + interval '4 minutes' END,
       CASE WHEN open AND k % 7 = 0 THEN now() - interval '10 seconds' END, 0
FROM t;
SELECT setval(pg_get_serial_sequence('annotator_slot', 'id'), (SELECT max(id) FROM annotator_slot));

INSERT INTO annotator_annotation (id, task_id, slot_id, store_id, associate_id, kind, result, submission_id,
    active_seconds, created_at)
SELECT pg_temp.uid('5', k), id, k + 1, store_id, associate, kind, '{{}}'::jsonb, pg_temp.uid('8', k), 20 + k % 60,
       created_at + interval '5 minutes'
FROM t WHERE NOT open;

-- Labels: the events of every third reviewed visit's task.
INSERT INTO annotator_label (id, txid, store_id, kind, task_id, annotation_id, associate_id, created_at,
    model_version, predicted, human, verdict, snippet_id, event_id, provenance)
SELECT pg_temp.uid('6', t.k * 10 + e), 0, t.store_id, 'visit_event', t.id, pg_temp.uid('5', t.k), t.associate,
       t.created_at + interval '5 minutes', 'jwo-' || (t.k % 3), NULL, NULL,
       CASE WHEN (t.k * 10 + e) % 70 < 20 + (t.k * 10 + e) % 7 THEN 'correct' ELSE 'confirm' END,
       NULL, pg_temp.uid('3', t.k::bigint * 10 + e), '{{}}'::jsonb
FROM t, generate_series(0, 9) e
WHERE t.kind = 'visit_validation' AND NOT t.open AND t.k % 3 = 0;

INSERT INTO annotator_queuedepthsample (queue_id, at, depth, in_progress)
SELECT q.id, now() - m * interval '1 minute', 5 + (m * 7) % 11, m % 3
FROM annotator_queue q, generate_series(0, 359) m;

DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexdef FROM saved_indexes LOOP EXECUTE r.indexdef; END LOOP;
END $$;
ALTER TABLE validation_visit ENABLE TRIGGER ALL;
ALTER TABLE validation_event ENABLE TRIGGER ALL;
ALTER TABLE validation_receipt ENABLE TRIGGER ALL;
ALTER TABLE annotator_task ENABLE TRIGGER ALL;
ALTER TABLE annotator_slot ENABLE TRIGGER ALL;
ALTER TABLE annotator_annotation ENABLE TRIGGER ALL;
ALTER TABLE annotator_label ENABLE TRIGGER ALL;
"""

# After the load and after each migration (a backfill rewrites rows): statistics, and the
# visibility map that index-only scans rely on, as autovacuum keeps them on a live server.
VACUUM = "VACUUM (ANALYZE)"

COUNTS = {
    "visits": "validation_visit",
    "events": "validation_event",
    "receipts": "validation_receipt",
    "tasks": "annotator_task",
    "slots": "annotator_slot",
    "annotations": "annotator_annotation",
    "labels": "annotator_label",
}


def database_url(name: str) -> str:
    base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin_connection():
    connection = psycopg2.connect(database_url("postgres"))
    connection.autocommit = True
    return connection


def recreate(name: str) -> None:
    connection = admin_connection()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def drop(name: str) -> None:
    connection = admin_connection()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


def timed(function, repeat: int) -> dict:
    function()  # warm-up: plans and caches, as a long-running server has them
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[max(0, round(0.95 * len(samples)) - 1)], 1),
        "max_ms": round(samples[-1], 1),
    }


def measure(repeat: int, explain: bool) -> dict:
    import datetime as dt

    import django

    django.setup()
    from django.conf import settings

    # DEBUG=1 only so that pages render without a collectstatic manifest; no query log.
    settings.DEBUG = False
    # The shared cache of the costly console figures, as production configures it (see
    # annotator.selectors.console.console_cached): the database cache, in the bench database.
    settings.CACHES = {
        **settings.CACHES,
        "console": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "loupe_console_cache"},
    }
    from django.core.management import call_command

    call_command("createcachetable", "loupe_console_cache", verbosity=0)
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from annotator.selectors.associates import _associate_figures, associate_figures
    from annotator.selectors.console import _throughput, leases_held, throughput
    from annotator.selectors.queues import queue_depth_series, store_queue_summaries
    from catalog.models import Store
    from validation import calibration, metrics
    from validation.metrics_api import metrics_snapshot

    boss = django.contrib.auth.get_user_model().objects.get(username="boss")
    stores = Store.objects.filter(storeaccess__user=boss)
    one = Store.objects.filter(code="S001")
    # A supervisor of some stores (every store but the last; and two): the associates page
    # then tells the stores' work apart by each annotation's store.
    most = Store.objects.exclude(pk=Store.objects.order_by("-code").values("pk")[:1])
    two = Store.objects.filter(code__in=["S001", "S002"])
    now = timezone.now
    client = Client()
    client.force_login(boss)

    def api():
        response = client.get("/api/v1/metrics/")
        assert response.status_code == 200, response.status_code

    def console_page():
        response = client.get("/supervise/")
        assert response.status_code == 200, response.status_code

    def calibration_page():
        response = client.get("/supervise/calibration/", {"store": "S001", "target": "5"})
        assert response.status_code == 200, response.status_code

    def charts():
        response = client.get("/supervise/charts.json")
        assert response.status_code == 200, response.status_code

    cases = {
        "queue_summaries": lambda: store_queue_summaries(stores=stores),
        "leases_held": lambda: leases_held(stores=stores),
        "turnaround_last_hour": lambda: metrics.turnaround_window(stores=stores, since=now() - metrics.HOUR),
        "turnaround_last_day": lambda: metrics.turnaround_window(stores=stores, since=now() - metrics.DAY),
        "turnaround_series_day": lambda: metrics.turnaround_series(stores=stores, since=now() - metrics.DAY),
        "automation_by_model": lambda: metrics.automation_by_model(stores=stores, since=now() - metrics.DAY),
        "throughput": lambda: throughput(stores=stores),
        "throughput_uncached": lambda: _throughput(stores=stores),
        "depth_series_6h": lambda: queue_depth_series(stores=stores, since=now() - dt.timedelta(hours=6)),
        "metrics_snapshot": lambda: metrics_snapshot(stores=stores),
        "api_v1_metrics": api,
        "console_page_html": console_page,
        "charts_json": charts,
        "associate_figures_7d": lambda: associate_figures(stores=stores, since=now() - dt.timedelta(days=7)),
        "associate_figures_7d_uncached": lambda: _associate_figures(stores=stores, since=now() - dt.timedelta(days=7)),
        "associate_figures_7d_uncached_19_stores": lambda: _associate_figures(
            stores=most, since=now() - dt.timedelta(days=7)
        ),
        "associate_figures_7d_uncached_2_stores": lambda: _associate_figures(
            stores=two, since=now() - dt.timedelta(days=7)
        ),
        "calibration_page": calibration_page,
        "calibration_one_store_30d": lambda: calibration.recommend(
            stores=one, since=now() - dt.timedelta(days=30), target=0.05
        ),
    }
    results = {name: timed(function, repeat) for name, function in cases.items()}
    plans = {}
    if explain:
        from django.test.utils import CaptureQueriesContext

        explained = (
            "turnaround_last_day",
            "turnaround_series_day",
            "automation_by_model",
            "throughput_uncached",
            "metrics_snapshot",
            "calibration_one_store_30d",
            "associate_figures_7d_uncached",
            "associate_figures_7d_uncached_19_stores",
        )
        for name in explained:
            with CaptureQueriesContext(connection) as captured:
                cases[name]()
            plans[name] = []
            for query in captured.captured_queries:
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                    lines = [row[0] for row in cursor.fetchall()]
                # The shape of the plan: its top node, every scan, the buffers and the time.
                keep = [lines[0]] + [
                    line.strip()
                    for line in lines[1:]
                    if "Scan" in line or "Execution Time" in line or "Heap Fetches" in line
                ]
                plans[name].append({"sql": query["sql"][:160], "plan": keep})
    return {"timings": results, "plans": plans}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--snippet-tasks", type=int, default=700_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the database (and reuse it with --reuse)")
    parser.add_argument("--reuse", action="store_true", help="time a kept database again (migrating it first)")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    url = database_url(DB_NAME)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"}
    env.setdefault("SECRET_KEY", "bench-only-not-secret")
    env.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    report: dict = {"visits": args.visits, "snippet_tasks": args.snippet_tasks}
    if not args.reuse:
        recreate(DB_NAME)
    start = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    report["migrate_s"] = round(time.perf_counter() - start, 1)
    if not args.reuse:
        start = time.perf_counter()
        sql = GENERATE.format(
            stores=STORES,
            associates=ASSOCIATES,
            visits=args.visits,
            snippet_tasks=args.snippet_tasks,
            window=WINDOW_S,
        )
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
        report["load_s"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    vacuum = psycopg2.connect(url)
    vacuum.autocommit = True  # VACUUM runs outside a transaction
    with vacuum.cursor() as cursor:
        cursor.execute(VACUUM)
    vacuum.close()
    report["vacuum_s"] = round(time.perf_counter() - start, 1)
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        counts = {}
        for name, table in COUNTS.items():
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - table names from COUNTS
            counts[name] = cursor.fetchone()[0]
        report["rows"] = counts
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    try:
        report.update(measure(args.repeat, args.explain))
        report["target_p95_ms"] = 200
        report["over_target"] = sorted(name for name, t in report["timings"].items() if t["p95_ms"] >= 200)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop(DB_NAME)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
