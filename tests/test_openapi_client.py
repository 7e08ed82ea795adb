"""A client generated from /api/schema/ with openapi-python-client (offline) drives a live
server as a headless client would: the computer-vision pipeline's integration ingests a
visit, an associate (token from `add_user --token`) claims it, heartbeats, submits, and the
integration reads the receipt. Two errors come back typed as the error model: `lease_lost`
on a heartbeat after the lease is gone and `invalid_cursor` on the labels feed."""

import importlib
import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.validation.bodies import event_body, visit_body

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "loupe_api_client"


def printed(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def generated(client, tmp_path, monkeypatch):
    """The generated package, imported from tmp_path (and forgotten afterwards)."""
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(client.get("/api/schema/", {"format": "json"}).json()))
    config = tmp_path / "generator.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: the code is imported, not read
    subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            schema,
            "--meta",
            "none",
            "--config",
            config,
            "--output-path",
            tmp_path / PACKAGE,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module(PACKAGE)
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def submodule(name: str):
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_a_generated_client_runs_the_work_loop_and_reads_errors_typed(generated, live_server, s001):
    integration_key = printed("create_integration", "cv-s001", "--stores", "S001").strip()
    associate_out = printed("add_user", "ann", "--role", "associate", "--stores", "S001", "--token")
    associate_key = associate_out.rsplit("API token, shown only once: ", 1)[1].strip()
    models = submodule("models")
    as_integration = generated.AuthenticatedClient(base_url=live_server.url, token=integration_key, prefix="Token")
    as_associate = generated.AuthenticatedClient(base_url=live_server.url, token=associate_key, prefix="Token")

    # Ingest: a visit the model is unsure of goes to review.
    body = models.VisitInRequest.from_dict(visit_body(events=[event_body(1, confidence=0.2)]))
    ingested = submodule("api.v1.visits_create").sync_detailed(client=as_integration, body=body)
    assert ingested.status_code == 201, ingested.content
    assert isinstance(ingested.parsed, models.VisitIngestedOut)
    assert ingested.parsed.status == models.VisitStatusEnum.PENDING_REVIEW

    # Claim, heartbeat, submit.
    lease = submodule("api.work.tasks_next").sync(client=as_associate, body=models.TaskNextInputRequest())
    assert isinstance(lease, models.LeaseOut), lease
    assert str(lease.task.id) == str(ingested.parsed.task_id)
    beat = submodule("api.work.tasks_heartbeat").sync(
        str(lease.task.id), client=as_associate, body=models.TaskHeartbeatInputRequest(token=lease.token)
    )
    assert isinstance(beat, models.TaskHeartbeatOutput), beat
    events = lease.task.payload.to_dict()["events"]
    result = {
        "events": [
            {"event": event["id"], "verdict": "correct", "sku": "SKU-0002", "action": "take", "quantity": 1}
            for event in events
        ],
        "missed": [],
    }
    submitted = submodule("api.work.tasks_submit").sync(
        str(lease.task.id),
        client=as_associate,
        body=models.TaskSubmitInputRequest(
            result=models.TaskSubmitInputRequestResult.from_dict(result), submission_id=uuid.uuid4(), token=lease.token
        ),
    )
    assert isinstance(submitted, models.TaskSubmitOutput), submitted

    # The receipt, as billing would read it.
    visit = submodule("api.v1.visits_retrieve").sync(str(ingested.parsed.id), client=as_integration)
    assert isinstance(visit, models.VisitOut), visit
    assert visit.status == models.VisitStatusEnum.VALIDATED
    receipt = submodule("api.v1.receipts_retrieve").sync(str(visit.receipt.id), client=as_integration)
    assert isinstance(receipt, models.ReceiptOut), receipt
    assert [(line.sku, line.quantity) for line in receipt.lines] == [("SKU-0002", 1)]
    assert receipt.total_minor == 200

    # Errors, typed: the lease is gone once submitted; a cursor the feed never issued.
    lost = submodule("api.work.tasks_heartbeat").sync_detailed(
        str(lease.task.id), client=as_associate, body=models.TaskHeartbeatInputRequest(token=lease.token)
    )
    assert lost.status_code == 409
    assert isinstance(lost.parsed, models.ErrorOut)
    assert lost.parsed.error.code == "lease_lost"
    refused = submodule("api.training_data.labels_list").sync_detailed(client=as_integration, cursor="not-a-cursor")
    assert refused.status_code == 400
    assert isinstance(refused.parsed, models.ErrorOut)
    assert (refused.parsed.error.code, refused.parsed.error.field) == ("invalid_cursor", "cursor")
