"""`GET /api/v1/metrics/` and Prometheus `GET /metrics`: shape, numbers, who may read them."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from annotator.services.work import task_claim
from tests.annotator.work import add_tasks, work_queue
from tests.conftest import session_client, token_client
from tests.validation.supervise_data import served

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


@pytest.fixture
def busy(s001, s002, alice, bob):
    queue = work_queue(s001, alice, name="Front")
    add_tasks(queue, 3)
    add_tasks(queue, 1, due_in=2)  # at risk
    add_tasks(queue, 1, due_in=-1)  # breached
    task_claim(associate=alice)
    add_tasks(work_queue(s002, bob, name="North"), 2)
    served(s001, turnaround_s=60, issued_ago_s=10, decision="auto_accept")
    served(s001, turnaround_s=600, issued_ago_s=10)
    served(s002, turnaround_s=5000, issued_ago_s=10)
    return queue


def test_metrics_json_for_a_supervisor_covers_their_stores_only(busy, carol):
    response = session_client(carol).get(reverse("api-metrics"))

    assert response.status_code == 200
    body = response.json()
    assert [q["name"] for q in body["queues"]] == ["Front"]
    front = body["queues"][0]
    assert {k: front[k] for k in ("store", "depth", "in_progress", "at_risk", "breached", "paused")} == {
        "store": "S001",
        "depth": 4,
        "in_progress": 1,
        "at_risk": 1,
        "breached": 1,
        "paused": False,
    }
    assert front["oldest_waiting_s"] >= 0
    assert body["turnaround_s"]["last_hour"]["count"] == 2
    assert body["turnaround_s"]["last_hour"]["p50"] == 330.0
    assert body["turnaround_s"]["last_day"]["p95"] == 573.0
    assert body["automation_rate"] == 0.5


def test_integrations_read_their_stores_queue_depth(busy, s002_integration):
    body = token_client(s002_integration).get(reverse("api-metrics")).json()

    assert [(q["store"], q["depth"]) for q in body["queues"]] == [("S002", 2)]


def test_associates_and_strangers_may_not_read_metrics(busy, alice, api):
    assert session_client(alice).get(reverse("api-metrics")).status_code == 403
    assert api.get(reverse("api-metrics")).status_code in (401, 403)
    assert api.get("/metrics").status_code == 401
    assert session_client(alice).get("/metrics").status_code == 403


def parse(text: str) -> dict[str, list[tuple[str, str]]]:
    families: dict[str, list] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            assert line.startswith(("# HELP ", "# TYPE ")) or not line
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample: {line!r}"
        value = match.group(4)
        assert value == "NaN" or float(value) == float(value)
        families.setdefault(match.group(1), []).append((match.group(2) or "", value))
    return families


def test_prometheus_text_parses_and_matches_the_json(busy, carol):
    response = session_client(carol).get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    families = parse(response.content.decode())
    assert families["loupe_queue_depth"] == [('{store="S001",queue="Front",kind="snippet_annotation"}', "4")]
    assert ('{window="1h",decision="all",percentile="p50"}', "330.0") in families["loupe_turnaround_seconds"]
    assert families["loupe_automation_ratio"] == [("", "0.5")]


def test_prometheus_bearer_token_sees_every_store(busy, api, settings):
    settings.METRICS_TOKEN = "scrape-secret-123"

    assert api.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = api.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-123")

    assert response.status_code == 200
    stores = {labels.split('"')[1] for labels, _ in parse(response.content.decode())["loupe_queue_depth"]}
    assert stores == {"S001", "S002"}


def test_no_bearer_access_without_a_configured_token(busy, api, settings):
    settings.METRICS_TOKEN = ""

    assert api.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_prometheus_text_keeps_the_type_rules(busy, carol):
    """What promtool checks, read by Prometheus' own parser: `quantile` only in summaries
    (with their `_sum` and `_count`), `le` only in histograms, reserved suffixes only there."""
    text = session_client(carol).get("/metrics").content.decode()
    problems = []
    families = list(text_string_to_metric_families(text))
    assert {f.name for f in families} >= {"loupe_turnaround_seconds", "loupe_queue_depth", "loupe_automation_ratio"}
    for family in families:
        assert family.type != "unknown", f"{family.name} has no # TYPE"
        names = {sample.name for sample in family.samples}
        for sample in family.samples:
            if "quantile" in sample.labels and family.type != "summary":
                problems.append(f"{sample.name}: a {family.type} with a quantile label")
            if "le" in sample.labels and family.type != "histogram":
                problems.append(f"{sample.name}: a {family.type} with an le label")
            if family.type not in ("summary", "histogram") and sample.name.endswith(("_sum", "_count", "_bucket")):
                problems.append(f"{sample.name}: a reserved suffix on a {family.type}")
        if family.type == "summary" and not {f"{family.name}_sum", f"{family.name}_count"} <= names:
            problems.append(f"{family.name}: a summary without _sum and _count")
    assert not problems, "\n".join(problems)
    turnaround = next(f for f in families if f.name == "loupe_turnaround_seconds")
    p50 = {"window": "1h", "decision": "all", "percentile": "p50"}
    assert [s.value for s in turnaround.samples if s.labels == p50] == [330.0]


# `make test` unpacks it there from Debian's prometheus package (`make promtool`).
UNPACKED_PROMTOOL = Path(__file__).resolve().parents[2] / "var" / "tools" / "promtool"


def test_promtool_accepts_the_prometheus_text(busy, carol):
    promtool = shutil.which("promtool") or (str(UNPACKED_PROMTOOL) if UNPACKED_PROMTOOL.exists() else None)
    if promtool is None:
        pytest.skip("promtool is not installed (make promtool unpacks Debian's into var/tools)")
    text = session_client(carol).get("/metrics").content.decode()
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert not checked.stdout.strip() and not checked.stderr.strip(), checked.stdout + checked.stderr
