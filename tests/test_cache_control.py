"""No answer to a signed-in person is kept by a browser or a proxy: every page and API answer
the access sweep reaches carries `Cache-Control: no-store`, as seen by S001's supervisor and
associate (who reach the most). The URL list, the objects and the bodies are the sweep's own
(tests/test_access_sweep.py), so a new URL is covered here as soon as it is classified there."""

import copy

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from tests.test_access_sweep import METHODS, NOT_OBJECT_SCOPED, PUBLIC, URL_KWARGS, send, world  # noqa: F401

# Views that choose their own caching on purpose, with the directive they must still carry.
OWN_CACHING = {"annotator:product_image": "private"}  # catalog packshots, cached an hour in this browser only


def signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_every_answer_to_a_signed_in_person_is_no_store(world, carol):  # noqa: F811 (the sweep's fixture)
    problems, checked = [], 0
    names = sorted(URL_KWARGS) + sorted(NOT_OBJECT_SCOPED) + sorted(PUBLIC)
    for persona, client in {"carol": signed_in(carol), "alice": signed_in(world.users["alice"])}.items():
        for name in names:
            path = reverse(name, kwargs=URL_KWARGS[name](world) if name in URL_KWARGS else {})
            for method in METHODS:
                cookies = copy.deepcopy(client.cookies)  # the swept logout must not sign the persona out
                with transaction.atomic():
                    response = send(client, method, path, name, world)
                    transaction.set_rollback(True)
                client.cookies = cookies
                if not (200 <= response.status_code < 300 or 400 <= response.status_code < 500):
                    continue
                directives = {d.strip() for d in response.headers.get("Cache-Control", "").split(",")}
                checked += 1
                expected = OWN_CACHING.get(name, "no-store")
                if expected not in directives:
                    problems.append(f"{method} {path} as {persona} → {response.status_code}: {directives}")
    assert not problems, "\n".join(problems)
    assert checked > 2 * len(names), "most URLs answered both personas"


def test_an_api_token_answer_is_no_store(client, s001_integration):
    token = Token.objects.create(user=s001_integration)
    response = client.get(reverse("api-metrics"), HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
