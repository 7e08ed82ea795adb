import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from annotator.services.queues import queue_for


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
    ],
    ids=["bad role", "unknown store", "weak password", "common password"],
)
def test_add_user_refuses_bad_input_and_creates_nothing(s001_queues, args, message):
    with pytest.raises(CommandError, match=message):
        run("add_user", "dana", *args)

    assert not User.objects.filter(username="dana").exists()


def test_add_user_refuses_an_existing_user_unless_update(alice, s002):
    with pytest.raises(CommandError, match=r"already exists.*--update"):
        run("add_user", "alice", "--role", "associate", "--stores", "S002")

    out = run("add_user", "alice", "--role", "associate", "--stores", "S002", "--update")

    assert "Updated associate alice (stores: S002" in out
    assert "Password" not in out
