"""The role gates (catalog.gates) on real URLs: anonymous callers go to the login page (API:
401), signed-in callers without the role get 403 saying who the page is for, superusers pass
every gate. The sweep (tests/test_access_sweep.py) checks every URL; these pin the answers."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from catalog.gates import associate_required, role_gate, supervisor_required
from catalog.roles import INTEGRATION, SUPERVISOR
from tests.conftest import session_client, token_client
from tests.factories import UserFactory


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_callers_go_to_the_login_page_and_come_back(db):
    url = reverse("annotator:supervise")
    response = Client().get(url)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == reverse("login")
    assert parse_qs(location.query)["next"] == [url]


@pytest.mark.parametrize(
    ("name", "who"),
    [
        ("annotator:supervise", "supervisors"),
        ("annotator:work", "associates and supervisors"),
        ("annotator:datasets", "supervisors and integrations"),
        ("validation:webhooks", "superusers"),
    ],
)
def test_a_signed_in_caller_without_the_role_gets_403_saying_who_the_page_is_for(name, who, s001):
    nobody = UserFactory(username="nobody", stores=[s001])
    response = browser(nobody).get(reverse(name))
    assert response.status_code == 403
    assert f"This page is for {who}." in response.content.decode()


def test_the_wrong_role_gets_403_both_ways(alice, carol, s001_integration):
    assert browser(alice).get(reverse("annotator:supervise")).status_code == 403
    # Supervisors work escalations on the workbench; integrations never do.
    assert browser(carol).get(reverse("annotator:work")).status_code == 200
    assert browser(s001_integration).get(reverse("annotator:work")).status_code == 403
    assert browser(alice).get(reverse("annotator:datasets")).status_code == 403
    assert browser(carol).get(reverse("annotator:datasets")).status_code == 200


def test_superusers_pass_every_gate(s001):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    for name in ("annotator:supervise", "annotator:work", "annotator:datasets", "validation:webhooks"):
        assert browser(admin).get(reverse(name)).status_code == 200, name


def test_a_gate_says_who_it_admits():
    assert supervisor_required.who == "supervisors"
    assert associate_required.who == "associates"
    assert role_gate(SUPERVISOR, INTEGRATION).who == "supervisors and integrations"


def test_api_views_answer_401_and_403_in_the_error_shape(api, alice, s001_integration):
    url = reverse("api-task-next")
    anonymous = api.post(url, {}, format="json")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    wrong_role = token_client(s001_integration).post(url, {}, format="json")
    assert wrong_role.status_code == 403
    assert wrong_role.json()["error"] == {
        "code": "permission_denied",
        "detail": "Only associates and supervisors may do this.",
    }
    assert session_client(alice).get(reverse("api-label-list")).status_code == 403
