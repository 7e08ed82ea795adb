"""The API against its own schema (schemathesis): every operation of /api/v1/ and the
operations endpoints, with requests generated from `/api/schema/`, each sent with an
integration's token and again with an associate's. Fails on any server error (5xx) and on any answer whose
status, content type or body the schema does not declare.

Bounded and deterministic: a few derandomized examples per operation, no shrinking, through
the WSGI application in this process (the test's own database transaction).
"""

import contextlib

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.conftest import token_client
from tests.validation.bodies import event_body, visit_body

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 10
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
    suppress_health_check=list(HealthCheck),
)
PATHS = r"^/(api/v1/|healthz$|readyz$|metrics$)"


@contextlib.contextmanager
def wsgi_requests_keep_the_test_connection():
    """Django's WSGI handler closes the connection before and after each request when it is
    not in autocommit, which a test's transaction never is. Django's test client unhooks the
    same signals around each of its requests (and hooks them again after: so this wraps the
    WSGI calls only)."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)


@pytest.fixture
def api_schema(client, s001):
    raw = client.get("/api/schema/", {"format": "json"}).json()
    schema = schemathesis.openapi.from_dict(raw).include(path_regex=PATHS)
    schema.app = application
    return schema


@pytest.fixture
def world(s001, alice, s001_integration):
    """An integration and an associate of S001, and ids of real objects: a visit waiting for
    review (its task leased by the associate), its snippet-less receipt-less self."""
    integration = token_client(s001_integration)
    low = visit_body(events=[event_body(1, confidence=0.2)])
    visit = integration.post("/api/v1/visits/", low, format="json").json()
    auto = integration.post("/api/v1/visits/", visit_body(), format="json").json()
    associate = token_client(alice)
    associate.post("/api/v1/tasks/next/", {}, format="json")
    return {
        "integration": integration._credentials["HTTP_AUTHORIZATION"],
        "associate": associate._credentials["HTTP_AUTHORIZATION"],
        "ids": {
            "visit_id": visit["id"],
            "task_id": visit["task_id"],
            "receipt_id": auto["receipt"]["id"],
        },
    }


def realistic(case, ids: dict) -> None:
    """Half of the cases name S001 and real objects, so that they get past the lookups (a
    random store code or id is a 404 before anything else is checked)."""
    for name in case.path_parameters or {}:
        if name in ids:
            case.path_parameters[name] = ids[name]
    bodies = [case.body] if isinstance(case.body, dict) else []
    if isinstance(case.body, dict) and isinstance(case.body.get("visits"), list):
        bodies += [visit for visit in case.body["visits"] if isinstance(visit, dict)]
    for body in bodies:
        if "store" in body:
            body["store"] = "S001"


def failures_of(schema, authorizations: dict[str, str], ids: dict) -> list[str]:
    """Each case is generated once and sent as every caller: generating the cases is most of
    the work, and a derandomized run draws the same ones for any caller."""
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @SETTINGS
        @hypothesis.given(case=operation.as_strategy(), real=hypothesis.strategies.booleans())
        def exercise(case, real):
            if real:
                realistic(case, ids)
            for caller, authorization in authorizations.items():
                try:
                    case.call_and_validate(headers={"Authorization": authorization}, checks=CHECKS)
                except Exception as exc:
                    raise AssertionError(f"as the {caller}: {exc}") from exc

        try:
            with wsgi_requests_keep_the_test_connection():
                exercise()
        except Exception as exc:
            found.append(f"{operation.label}: {exc}")
    return found


def test_the_api_answers_as_its_schema_says_to_an_integration_and_an_associate(api_schema, world):
    callers = {caller: world[caller] for caller in ("integration", "associate")}
    failures = failures_of(api_schema, callers, world["ids"])
    assert not failures, "\n\n".join(failures)
