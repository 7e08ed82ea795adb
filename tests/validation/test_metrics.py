"""Turnaround, SLA, automation and audit error rates on hand-built data (exact numbers)."""

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from django.utils import timezone

from catalog.models import Store
from tests.validation.bodies import visit_body
from tests.validation.supervise_data import served, visit
from validation import metrics
from validation.models import Receipt, Visit
from validation.services.ingest import visit_ingest
from validation.services.receipts import receipt_issue

AUTO = Visit.Decision.AUTO_ACCEPT


@pytest.fixture
def served_s001(s001, s002):
    """Last hour: auto 2 s and 4 s; reviewed 300, 600, 900 s (SLA 15 min: 900 is inside).
    Earlier today: reviewed 1200 s (outside). Ignored: a receipt two days old, a correction
    receipt, another store's receipt."""
    served(s001, turnaround_s=2, issued_ago_s=60, decision=AUTO)
    served(s001, turnaround_s=4, issued_ago_s=120, decision=AUTO)
    for seconds in (300, 600, 900):
        served(s001, turnaround_s=seconds, issued_ago_s=600)
    served(s001, turnaround_s=1200, issued_ago_s=5 * 3600)
    served(s001, turnaround_s=5, issued_ago_s=2 * 86400)
    served(s001, turnaround_s=7, issued_ago_s=30, kind=Receipt.Kind.CORRECTED)
    served(s002, turnaround_s=99999, issued_ago_s=60)
    return Store.objects.filter(pk=s001.pk)


def test_turnaround_percentiles_of_the_last_hour(served_s001):
    hour = metrics.turnaround_window(stores=served_s001, since=timezone.now() - metrics.HOUR).as_dict()

    assert hour["count"] == 5
    assert hour["p50"] == 300.0
    assert hour["p95"] == 840.0  # 600 + 0.8 × 300 (percentile_cont)
    assert hour["p99"] == 888.0
    assert hour["auto"] == {"count": 2, "p50": 3.0, "p95": 3.9, "p99": 4.0}
    assert hour["reviewed"] == {"count": 3, "p50": 600.0, "p95": 870.0, "p99": 894.0}
    assert hour["inside_sla"] == 1.0


def test_turnaround_of_the_day_counts_the_late_receipt_outside_the_sla(served_s001):
    day = metrics.turnaround_window(stores=served_s001, since=timezone.now() - metrics.DAY)

    assert day.all.count == 6
    assert day.reviewed.count == 4
    assert day.inside_sla == 5
    assert day.inside_sla_share == pytest.approx(5 / 6)
    assert day.all.p50 == pytest.approx(300 + 0.5 * 300, abs=0.01)  # between 300 and 600


def test_no_receipts_gives_no_percentiles(s001):
    window = metrics.turnaround_window(stores=Store.objects.filter(pk=s001.pk), since=timezone.now() - metrics.HOUR)

    assert window.as_dict() == {
        "count": 0,
        "p50": None,
        "p95": None,
        "p99": None,
        "auto": {"count": 0, "p50": None, "p95": None, "p99": None},
        "reviewed": {"count": 0, "p50": None, "p95": None, "p99": None},
        "inside_sla": None,
    }


def test_an_auto_accepted_visit_is_held_to_the_store_sla(s001):
    stores = Store.objects.filter(pk=s001.pk)
    served(s001, turnaround_s=16 * 60, issued_ago_s=10, decision=AUTO)  # store SLA 15 min

    assert metrics.turnaround_window(stores=stores, since=timezone.now() - metrics.HOUR).inside_sla == 0


def test_turnaround_series_per_hour(served_s001):
    series = metrics.turnaround_series(stores=served_s001, since=timezone.now() - metrics.DAY)

    assert sum(1 for _ in series) >= 2
    assert all(set(point) == {"at", "p50", "p95"} for point in series)
    assert series == sorted(series, key=lambda point: point["at"])


@pytest.fixture
def routed(s001, s002):
    now = timezone.now()
    recent = now - dt.timedelta(hours=2)
    for _ in range(3):
        visit(s001, exited_at=recent, decision=AUTO, model_version="m1")
    visit(s001, exited_at=recent, decision="review", model_version="m1")
    visit(s001, exited_at=recent, decision="review", model_version="m2")
    # Audits of auto-accepted m1 visits over the last weeks: 4 done, 1 corrected, 1 pending.
    old = now - dt.timedelta(days=10)
    for outcome in ("confirmed", "confirmed", "confirmed", "corrected"):
        visit(s001, exited_at=old, decision=AUTO, model_version="m1", audit_outcome=outcome)
    visit(s001, exited_at=old, decision=AUTO, model_version="m1", audited=True)
    visit(s001, exited_at=now - dt.timedelta(days=40), decision=AUTO, audit_outcome="corrected")  # too old
    visit(s002, exited_at=recent, decision="review", model_version="m1")
    return Store.objects.filter(pk=s001.pk)


def test_automation_and_audit_error_rate_by_store_and_model(routed):
    rows = {
        row.model_version: row for row in metrics.automation_by_model(stores=routed, since=timezone.now() - metrics.DAY)
    }

    m1, m2 = rows["m1"], rows["m2"]
    assert (m1.visits, m1.auto_accepted, m1.automation_rate) == (4, 3, 0.75)
    assert (m1.audits, m1.audit_errors, m1.error_rate) == (4, 1, 0.25)
    low, high = m1.error_interval
    assert low == pytest.approx(0.0456, abs=1e-4)
    assert high == pytest.approx(0.6994, abs=1e-4)
    assert (m2.visits, m2.auto_accepted, m2.automation_rate, m2.audits, m2.error_rate) == (1, 0, 0.0, 0, None)
    assert m1.as_dict()["error_rate_ci95"] == [0.0456, 0.6994]


def test_automation_rate_of_the_window(routed):
    assert metrics.automation_rate(stores=routed, since=timezone.now() - metrics.DAY) == 3 / 5
    assert metrics.automation_rate(stores=routed.none(), since=timezone.now() - metrics.DAY) is None


def test_several_windows_at_once_agree_with_one_window_at_a_time(served_s001):
    now = timezone.now()
    both = metrics.turnaround_windows(stores=served_s001, windows={"h": now - metrics.HOUR, "d": now - metrics.DAY})

    for name, delta in (("h", metrics.HOUR), ("d", metrics.DAY)):
        alone = metrics.turnaround_window(stores=served_s001, since=now - delta)
        assert both[name].as_dict() == alone.as_dict()
    assert both["h"].as_dict()["p95"] == 840.0


def test_receipt_issue_writes_the_turnaround_on_the_first_receipt_only(s001):
    exited = timezone.now() - dt.timedelta(minutes=20)  # reviewed: due 15 min after the exit
    reviewed = visit(s001, exited_at=exited)

    first = receipt_issue(visit=reviewed, lines=[])
    correction = receipt_issue(visit=reviewed, lines=[], supersedes=first)

    first.refresh_from_db()
    assert (first.store_id, first.decision, first.exited_at) == (s001.pk, "review", exited)
    assert first.turnaround_s == pytest.approx((first.issued_at - exited).total_seconds())
    assert first.inside_sla is False
    correction.refresh_from_db()
    assert (correction.store_id, correction.turnaround_s, correction.inside_sla) == (None, None, None)


def test_an_ingested_auto_accepted_visit_counts_in_the_turnaround_at_once(s001):
    exited = timezone.now() - dt.timedelta(seconds=30)
    entered = exited - dt.timedelta(minutes=5)
    body = visit_body(entered_at=entered.isoformat(), exited_at=exited.isoformat())
    for event in body["events"]:
        event["occurred_at"] = entered.isoformat()
    result = visit_ingest(store=s001, payload=body)

    receipt = Receipt.objects.get(visit=result.visit)
    assert (receipt.decision, receipt.inside_sla) == (AUTO, True)
    window = metrics.turnaround_window(stores=Store.objects.filter(pk=s001.pk), since=timezone.now() - metrics.HOUR)
    assert (window.all.count, window.auto.count, window.inside_sla) == (1, 1, 1)
    assert window.auto.p50 == pytest.approx(receipt.turnaround_s)


def test_the_migration_backfills_the_turnaround_of_existing_receipts(s001):
    from django.apps import apps
    from django.db import connection

    backfill = importlib.import_module("validation.migrations.0006_turnaround_on_receipts").backfill
    served(s001, turnaround_s=2, issued_ago_s=60, decision=AUTO)
    served(s001, turnaround_s=1200, issued_ago_s=60)
    served(s001, turnaround_s=7, issued_ago_s=30, kind=Receipt.Kind.CORRECTED)
    written = list(Receipt.objects.order_by("turnaround_s").values_list("turnaround_s", "inside_sla", "decision"))
    Receipt.objects.update(store=None, decision="", exited_at=None, turnaround_s=None, inside_sla=None)

    # What the migration's RunPython needs of a schema editor, without its DDL transaction.
    editor = SimpleNamespace(connection=connection, execute=lambda sql: connection.cursor().execute(sql))
    backfill(apps, editor)

    found = list(Receipt.objects.order_by("turnaround_s").values_list("turnaround_s", "inside_sla", "decision"))
    assert found == written
    assert Receipt.objects.filter(kind=Receipt.Kind.CORRECTED, store__isnull=True).count() == 1
