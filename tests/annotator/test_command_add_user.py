import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotator.services.queues import queue_for
from tests.annotator.work import add_tasks


def printed(out: str, prefix: str) -> str:
    [line] = [line for line in out.splitlines() if line.startswith(prefix)]
    return line.removeprefix(prefix)


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def s001_queues(s001):
    return [queue_for(store=s001, kind=kind) for kind in ("snippet_annotation", "visit_validation")]


def test_add_user_makes_an_associate_a_member_of_the_stores_queues(s001_queues):
    out = run("add_user", "dana", "--role", "associate", "--stores", "S001", "--password", "kingfisher-lantern-42")

    dana = User.objects.get(username="dana")
    assert "Added associate dana (stores: S001; member of 2 queue(s))" in out
    assert set(dana.queues.all()) == set(s001_queues)
    assert dana.check_password("kingfisher-lantern-42")
    assert "Password" not in out


def test_add_user_prints_a_generated_password_once(s001_queues):
    out = run("add_user", "dana", "--role", "supervisor", "--stores", "S001")

    [line] = [line for line in out.splitlines() if line.startswith("Password, shown only once: ")]
    password = line.removeprefix("Password, shown only once: ")
    assert len(password) >= 16
    assert User.objects.get(username="dana").check_password(password)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--role", "manager", "--stores", "S001"], "Unknown role 'manager'"),
        (["--role", "associate", "--stores", "S001,S404"], "Unknown store code.*S404"),
        (["--role", "associate", "--stores", "S001", "--password", "abc"], "too short"),
        (["--role", "associate", "--stores", "S001", "--password", "qwertyuiop"], "too common"),
        (["--role", "associate", "--stores", "S001", "--password", "4815162342"], "entirely numeric"),
    ],
    ids=["bad role", "unknown store", "weak password", "common password", "numeric password"],
)
def test_add_user_refuses_bad_input_and_creates_nothing(s001_queues, args, message):
    with pytest.raises(CommandError, match=message):
        run("add_user", "dana", *args, "--token")

    assert not User.objects.filter(username="dana").exists()
    assert not Token.objects.exists()


def test_add_user_refuses_the_username_as_password(s001_queues):
    with pytest.raises(CommandError, match="too similar to the username"):
        run("add_user", "kingfisher", "--role", "associate", "--stores", "S001", "--password", "kingfisher")

    assert not User.objects.filter(username="kingfisher").exists()


def test_add_user_refuses_an_existing_user_unless_update(alice, s002):
    with pytest.raises(CommandError, match=r"already exists.*--update"):
        run("add_user", "alice", "--role", "associate", "--stores", "S002")

    out = run("add_user", "alice", "--role", "associate", "--stores", "S002", "--update")

    assert "Updated associate alice (stores: S002" in out
    assert "Password" not in out


def test_add_user_token_lets_a_headless_client_claim_work(s001_queues):
    add_tasks(s001_queues[0], 1)
    out = run("add_user", "dana", "--role", "associate", "--stores", "S001", "--token")

    key = printed(out, "API token, shown only once: ")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.post("/api/v1/tasks/next/", {}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["task"]["queue"] == str(s001_queues[0].pk)
    assert Token.objects.get(user__username="dana").key == key


def test_add_user_without_token_issues_none(s001_queues):
    out = run("add_user", "dana", "--role", "associate", "--stores", "S001")

    assert "API token" not in out
    assert not Token.objects.exists()


def test_create_token_issues_a_new_token_and_revokes_the_old(alice, s001_queues):
    add_tasks(s001_queues[0], 1)
    old = Token.objects.create(user=alice).key

    key = run("create_token", "alice").strip()

    assert key != old
    assert Token.objects.get(user=alice).key == key
    revoked, fresh = APIClient(), APIClient()
    revoked.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert revoked.post("/api/v1/tasks/next/", {}, format="json").status_code == 401
    assert fresh.post("/api/v1/tasks/next/", {}, format="json").status_code == 200


def test_create_token_refuses_an_unknown_or_inactive_user(alice):
    with pytest.raises(CommandError, match="No active user 'nobody'"):
        run("create_token", "nobody")
    User.objects.filter(pk=alice.pk).update(is_active=False)
    with pytest.raises(CommandError, match="No active user 'alice'"):
        run("create_token", "alice")
    assert not Token.objects.exists()
