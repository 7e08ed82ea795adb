"""Sign-in lockout (django-axes): LOGIN_FAILURE_LIMIT wrong passwords for one username from one
address refuse that pair, even with the right password, until the cool-off has passed."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

PASSWORD = "pw-loupe-test"


@pytest.fixture
def ana(db):
    return UserFactory(username="ana")


def sign_in(client: Client, password: str, *, address: str = "203.0.113.7", username: str = "ana"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_ten_wrong_passwords_refuse_even_the_right_one_and_the_page_says_so(ana, settings):
    assert settings.AXES_FAILURE_LIMIT == 10
    client = Client()
    for _ in range(9):
        assert sign_in(client, "wrong").status_code == 200
    assert sign_in(client, "wrong").status_code == 429
    response = sign_in(client, PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)
    page = response.content.decode()
    assert 'id="login-locked"' in page
    assert "signing in is paused for 15 minutes" in page
    assert 'value="ana"' in page


def test_fewer_wrong_passwords_than_the_limit_still_let_the_right_one_in(ana):
    client = Client()
    for _ in range(9):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_success_starts_the_count_again(ana):
    client = Client()
    for _ in range(9):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 302
    other = Client()
    for _ in range(9):
        sign_in(other, "wrong")
    assert sign_in(other, PASSWORD).status_code == 302


def test_the_lockout_holds_one_username_from_one_address(ana):
    UserFactory(username="ben")
    for _ in range(10):
        sign_in(Client(), "wrong")
    assert sign_in(Client(), PASSWORD, address="198.51.100.9").status_code == 302
    assert sign_in(Client(), PASSWORD, username="ben").status_code == 302
    assert sign_in(Client(), PASSWORD).status_code == 429


def test_the_lockout_ends_after_the_cool_off(ana):
    for _ in range(10):
        sign_in(Client(), "wrong")
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))
    client = Client()
    assert sign_in(client, PASSWORD).status_code == 302
    assert signed_in(client)


def test_the_address_behind_trusted_proxies_is_the_one_locked_out(ana, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for _ in range(10):
        Client().post(
            reverse("login"),
            {"username": "ana", "password": "wrong"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="203.0.113.7",
        )
    other_client = Client().post(
        reverse("login"),
        {"username": "ana", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.9",
    )
    assert other_client.status_code == 302


def test_a_nul_byte_in_the_username_is_a_failed_sign_in_not_an_error(ana):
    client = Client(raise_request_exception=False)
    for _ in range(11):
        response = sign_in(client, "wrong", username="a\x00na")
        assert response.status_code in (200, 429)
    assert sign_in(client, PASSWORD).status_code == 302
