import pytest
from django.contrib.auth.models import User

from annotator.models import Queue, QueueMembership
from annotator.services.handback import escalation_queue
from annotator.services.people import person_onboard, queue_membership_set
from annotator.services.queues import queue_for
from catalog import roles
from catalog.models import StoreAccess
from infra.errors import Conflict, LoupeError
from tests.factories import QueueFactory, UserFactory


def member_queue_names(user) -> list[str]:
    return sorted(f"{q.store.code}/{q.kind}" for q in Queue.objects.filter(members=user))


@pytest.fixture
def queues(s001, s002):
    return [
        queue_for(store=s001, kind="snippet_annotation"),
        queue_for(store=s001, kind="visit_validation"),
        queue_for(store=s002, kind="visit_validation"),
    ]


def test_an_associate_becomes_a_member_of_every_queue_of_their_stores(queues):
    onboarded = person_onboard(username="dana", role="associate", store_codes=["S001"])

    assert member_queue_names(onboarded.user) == ["S001/snippet_annotation", "S001/visit_validation"]
    assert list(onboarded.user.groups.values_list("name", flat=True)) == [roles.ASSOCIATE]
    assert list(onboarded.user.stores.values_list("code", flat=True)) == ["S001"]


def test_a_new_user_without_a_password_gets_a_long_generated_one(queues):
    onboarded = person_onboard(username="dana", role="associate", store_codes=["S001"])

    assert onboarded.generated and onboarded.created
    assert len(onboarded.password) >= 16
    assert onboarded.user.check_password(onboarded.password)
    assert person_onboard(username="erin", role="associate", store_codes=["S001"]).password != onboarded.password


def test_a_given_password_is_used_and_not_handed_back(queues):
    onboarded = person_onboard(
        username="dana", role="supervisor", store_codes=["S002"], password="kingfisher-lantern-42"
    )

    assert not onboarded.generated
    assert onboarded.password is None
    assert User.objects.get(username="dana").check_password("kingfisher-lantern-42")


def test_a_supervisor_is_granted_stores_but_joins_no_queue(queues):
    onboarded = person_onboard(username="sue", role="supervisor", store_codes=["S001", "S002"])

    assert sorted(onboarded.user.stores.values_list("code", flat=True)) == ["S001", "S002"]
    assert member_queue_names(onboarded.user) == []


@pytest.mark.parametrize(
    "kwargs,code",
    [
        ({"role": "admin", "store_codes": ["S001"]}, "invalid_role"),
        ({"role": "integration", "store_codes": ["S001"]}, "invalid_role"),
        ({"role": "associate", "store_codes": ["S001", "S404"]}, "unknown_store"),
        ({"role": "associate", "store_codes": [" "]}, "no_store"),
        ({"role": "associate", "store_codes": ["S001"], "password": "short"}, "weak_password"),
        ({"role": "associate", "store_codes": ["S001"], "password": "password123"}, "weak_password"),
    ],
    ids=["unknown role", "integration role", "unknown store", "no store", "short password", "common password"],
)
def test_bad_input_is_refused_and_nothing_is_written(queues, kwargs, code):
    with pytest.raises(LoupeError) as caught:
        person_onboard(username="dana", **kwargs)

    assert caught.value.code == code
    assert not User.objects.filter(username="dana").exists()
    assert not StoreAccess.objects.exists()
    assert not QueueMembership.objects.exists()


def test_an_existing_user_is_refused_without_update(alice, queues):
    with pytest.raises(Conflict, match="already exists"):
        person_onboard(username="alice", role="supervisor", store_codes=["S002"])

    assert alice.groups.filter(name=roles.ASSOCIATE).exists()
    assert list(alice.stores.values_list("code", flat=True)) == ["S001"]


def test_update_restates_role_stores_and_queues_and_keeps_the_password(alice, queues):
    person_onboard(username="alice", role="associate", store_codes=["S001"], update=True)
    assert member_queue_names(alice) == ["S001/snippet_annotation", "S001/visit_validation"]

    onboarded = person_onboard(username="alice", role="associate", store_codes=["S002"], update=True)

    assert not onboarded.created and not onboarded.generated
    assert list(alice.stores.values_list("code", flat=True)) == ["S002"]
    assert member_queue_names(alice) == ["S002/visit_validation"]
    assert User.objects.get(username="alice").check_password("pw-loupe-test")


def test_promoting_an_associate_to_supervisor_swaps_the_group_and_leaves_the_queues(alice, queues):
    person_onboard(username="alice", role="associate", store_codes=["S001"], update=True)

    person_onboard(username="alice", role="supervisor", store_codes=["S001"], update=True)

    assert list(alice.groups.values_list("name", flat=True)) == [roles.SUPERVISOR]
    assert member_queue_names(alice) == []


def test_update_refuses_an_integration(s001_integration, queues):
    with pytest.raises(Conflict, match="is an integration"):
        person_onboard(username="cv-s001", role="associate", store_codes=["S001"], update=True)


def test_a_new_queue_takes_in_the_stores_existing_associates(s001, s002, alice, bob, carol):
    inactive = UserFactory(username="gone", role=roles.ASSOCIATE, stores=[s001])
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])

    queue = queue_for(store=s001, kind="visit_validation")

    assert list(queue.members.values_list("username", flat=True)) == ["alice"]


def test_an_existing_queue_is_returned_without_changing_its_members(s001, alice):
    queue = queue_for(store=s001, kind="visit_validation")
    queue_membership_set(queue=queue, user=alice, member=False)

    assert queue_for(store=s001, kind="visit_validation") == queue
    assert not queue.members.exists()


def test_queue_membership_set_adds_and_removes_an_associate(s001, alice):
    queue = QueueFactory(store=s001, kind="snippet_annotation")

    assert queue_membership_set(queue=queue, user=alice, member=True) is True
    assert queue_membership_set(queue=queue, user=alice, member=True) is False
    assert list(queue.members.all()) == [alice]
    assert queue_membership_set(queue=queue, user=alice, member=False) is True
    assert queue_membership_set(queue=queue, user=alice, member=False) is False
    assert not queue.members.exists()


def test_queue_membership_set_refuses_an_associate_of_another_store(s001, bob):
    queue = QueueFactory(store=s001)

    with pytest.raises(LoupeError) as caught:
        queue_membership_set(queue=queue, user=bob, member=True)

    assert caught.value.code == "store_not_granted"
    assert not queue.members.exists()


def test_queue_membership_set_refuses_supervisors_and_integrations(s001, carol, s001_integration):
    queue = QueueFactory(store=s001)

    for user in (carol, s001_integration):
        with pytest.raises(LoupeError) as caught:
            queue_membership_set(queue=queue, user=user, member=True)
        assert caught.value.code == "not_an_associate"
    assert not queue.members.exists()


def test_supervisors_join_their_stores_escalation_queues_and_associates_do_not(s001, s002, queues):
    escalation = escalation_queue(store=s001, kind="visit_validation")
    escalation_queue(store=s002, kind="visit_validation")
    supervisor = person_onboard(username="sue", role="supervisor", store_codes=["S001"]).user
    associate = person_onboard(username="dana", role="associate", store_codes=["S001"]).user

    assert list(Queue.objects.filter(members=supervisor)) == [escalation]
    assert escalation not in Queue.objects.filter(members=associate)
    # Promoted to supervisor: the associate's queues go, the escalation queue comes.
    person_onboard(username="dana", role="supervisor", store_codes=["S001"], update=True)
    assert list(Queue.objects.filter(members=associate)) == [escalation]
