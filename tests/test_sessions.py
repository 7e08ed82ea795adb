"""Sessions end after SESSION_COOKIE_AGE without a request of the person's, not a fixed time
after sign-in; the page's own polls and heartbeats do not keep them alive."""

from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone


def session_of(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_a_request_pushes_the_expiry_a_full_idle_period_ahead(client, alice):
    client.force_login(alice)
    Session.objects.filter(pk=session_of(client).pk).update(expire_date=timezone.now() + timedelta(minutes=1))
    assert client.get(reverse("annotator:work")).status_code == 200
    left = session_of(client).expire_date - timezone.now()
    assert timedelta(seconds=settings.SESSION_COOKIE_AGE - 60) < left <= timedelta(seconds=settings.SESSION_COOKIE_AGE)


def test_an_idle_session_has_ended(client, alice):
    client.force_login(alice)
    Session.objects.filter(pk=session_of(client).pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("annotator:work"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("login"))


def test_a_background_request_neither_pushes_the_expiry_nor_sets_the_cookie(client, alice):
    client.force_login(alice)
    soon = timezone.now() + timedelta(minutes=1)
    Session.objects.filter(pk=session_of(client).pk).update(expire_date=soon)
    response = client.get(reverse("annotator:work"), headers={"X-Loupe-Background": "1"})
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert session_of(client).expire_date == soon


def test_requests_within_a_touch_period_write_the_session_once(client, alice):
    client.force_login(alice)
    first = client.get(reverse("annotator:work"))
    assert settings.SESSION_COOKIE_NAME in first.cookies
    second = client.get(reverse("annotator:work"))
    assert settings.SESSION_COOKIE_NAME not in second.cookies
