"""The work API's hand-read bodies and hand-written leases agree with the serializers that
document them (annotator/api/tasks.py reads and writes them without a serializer per request)."""

import uuid

import pytest

from annotator.api.tasks import (
    _TOKEN,
    _UUID,
    LeaseOut,
    TaskHeartbeatApi,
    TaskNextApi,
    TaskSubmitApi,
    lease_body,
    read_field,
)
from annotator.services.work import task_claim
from infra.errors import LoupeError, first_validation_error
from tests.annotator.work import add_tasks, work_queue

SUBMISSION = str(uuid.uuid4())
SUBMIT_BODIES = [
    {"result": {"action": "none"}, "submission_id": SUBMISSION},
    {"result": {"action": "none"}, "submission_id": SUBMISSION, "token": 3, "next": True},
    {"result": {}, "submission_id": SUBMISSION, "token": "7", "next": "true"},
    {"result": {}, "submission_id": SUBMISSION, "token": 7.0, "next": 1},
    {"result": {}, "submission_id": SUBMISSION, "extra": "ignored"},
    {"result": {}, "submission_id": SUBMISSION.replace("-", "")},
    {"submission_id": SUBMISSION},
    {"result": {}},
    {"result": None, "submission_id": SUBMISSION},
    {"result": [1], "submission_id": SUBMISSION},
    {"result": "x", "submission_id": SUBMISSION},
    {"result": {}, "submission_id": "not-a-uuid"},
    {"result": {}, "submission_id": None},
    {"result": {}, "submission_id": 12},
    {"result": {}, "submission_id": SUBMISSION, "token": -1},
    {"result": {}, "submission_id": SUBMISSION, "token": 1.5},
    {"result": {}, "submission_id": SUBMISSION, "token": "x"},
    {"result": {}, "submission_id": SUBMISSION, "token": None},
    {"result": {}, "submission_id": SUBMISSION, "token": True},
    {"result": {}, "submission_id": SUBMISSION, "next": "maybe"},
    {"result": {}, "submission_id": SUBMISSION, "next": None},
    {},
    [],
    ["result"],
    "text",
    7,
]


def by_serializer(serializer_class, body):
    serializer = serializer_class(data=body)
    if serializer.is_valid():
        return ("valid", dict(serializer.validated_data))
    return ("error", first_validation_error(serializer.errors))


def by_hand(read, body):
    try:
        return ("valid", read(body))
    except LoupeError as error:
        return ("error", (error.code, error.detail, error.field))


@pytest.mark.parametrize("body", SUBMIT_BODIES, ids=range(len(SUBMIT_BODIES)))
def test_a_submit_body_reads_as_its_serializer_reads_it(body):
    expected = by_serializer(TaskSubmitApi.TaskSubmitInputSerializer, body)
    got = by_hand(TaskSubmitApi.read, body)
    if expected[0] == "valid":
        expected[1].setdefault("token", None)
    assert got == expected


def assert_one_field_reads_alike(serializer_class, name, field, value):
    body = {} if value is None else {name: value}
    expected = by_serializer(serializer_class, body)
    got = by_hand(lambda data: {name: read_field(data, name, field)}, body)
    if expected[0] == "valid":
        expected[1].setdefault(name, None)
    assert got == expected


# Fixed ids (the uuid is random): every xdist worker must collect the same tests.
@pytest.mark.parametrize(
    "queue", [None, str(uuid.uuid4()), "nope", 5, "", {"a": 1}], ids=["none", "uuid", "nope", "5", "empty", "dict"]
)
def test_a_claim_body_reads_as_its_serializer_reads_it(queue):
    assert_one_field_reads_alike(TaskNextApi.TaskNextInputSerializer, "queue", _UUID, queue)


@pytest.mark.parametrize("token", [None, 0, 12, "12", -3, "x", 2.5, True, [1]])
def test_a_heartbeat_body_reads_as_its_serializer_reads_it(token):
    assert_one_field_reads_alike(TaskHeartbeatApi.TaskHeartbeatInputSerializer, "token", _TOKEN, token)


@pytest.mark.django_db
def test_the_hand_written_lease_is_the_serializers_lease(s001, alice):
    queue = work_queue(s001, alice)
    add_tasks(queue, 1, payload={"snippet": None, "width": 320, "predictions": [{"sku": "A", "score": 0.5}]})
    lease = task_claim(associate=alice)
    assert lease_body(lease) == LeaseOut(lease).data
    assert lease_body(None) is None
