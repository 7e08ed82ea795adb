"""Two posts of one visit at the same moment store one visit (PostgreSQL, real threads)."""

import threading

import pytest
from django.db import connection

from tests.conftest import token_client
from tests.validation.bodies import event_body, visit_body
from validation.models import Event, Visit

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def post_at_once(user, bodies: list[dict]) -> list:
    barrier = threading.Barrier(len(bodies))
    responses: list = [None] * len(bodies)

    def post(index: int) -> None:
        client = token_client(user)
        try:
            barrier.wait(timeout=10)
            responses[index] = client.post("/api/v1/visits/", bodies[index], format="json")
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return responses


@pytest.mark.parametrize("confidence", [0.99, 0.3])
def test_two_identical_posts_at_once_store_one_visit_and_both_get_a_well_formed_answer(
    s001, s001_integration, confidence
):
    for round_ in range(5):
        payload = visit_body(external_id=f"v-race-{round_}", events=[event_body(1, confidence=confidence)])

        responses = post_at_once(s001_integration, [payload, payload])

        assert sorted(r.status_code for r in responses) == [200, 201]
        first, second = (r.json() for r in responses)
        assert first == second
        assert Visit.objects.filter(external_id=payload["external_id"]).count() == 1
    assert Event.objects.count() == 5


def test_two_different_bodies_at_once_store_one_and_refuse_the_other(s001, s001_integration):
    for round_ in range(3):
        one = visit_body(external_id=f"v-clash-{round_}")
        other = visit_body(external_id=f"v-clash-{round_}", shopper="anon-other")

        responses = post_at_once(s001_integration, [one, other])

        assert sorted(r.status_code for r in responses) == [201, 409]
        conflict = next(r for r in responses if r.status_code == 409)
        assert conflict.json()["error"]["code"] == "duplicate_external_id"
    assert Visit.objects.count() == 3
