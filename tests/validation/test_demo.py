"""seed_demo and demo_logins: the demo world `make run` shows a newcomer."""

import datetime as dt
import io

import av
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from annotator.models import Snippet, Task
from catalog import roles
from catalog.models import Camera, Product, Store
from tests.factories import StoreFactory
from validation.demo import people
from validation.demo.snippets import snippet_plan
from validation.demo.visits import MODEL_VERSIONS, visit_payload
from validation.models import Event, Visit

SMALL = ["--visits", "20", "--snippets", "3"]


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = (Store, Camera, Product, User, Token, Snippet, Visit, Event, Task)
    return {model.__name__: model.objects.count() for model in models}


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = FAST_HASHERS
    return tmp_path


@pytest.fixture(scope="class")
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    """Seed once for the class (the catalog's 200 packshots take seconds), inside a
    transaction rolled back afterwards; each test still runs in its own savepoint."""
    media_root = tmp_path_factory.mktemp("media")
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media_root, PASSWORD_HASHERS=FAST_HASHERS),
        transaction.atomic(),
    ):
        yield run("seed_demo", *SMALL)
        transaction.set_rollback(True)


# One worker seeds once for the class: under `--dist loadgroup` its tests stay together.
@pytest.mark.xdist_group("seeded_demo")
@pytest.mark.usefixtures("db")
class TestSeededDemo:
    def test_seed_demo_creates_the_stores_cameras_and_catalog_with_images(self, seeded):
        s001, s002 = Store.objects.get(code="S001"), Store.objects.get(code="S002")
        assert s001.name == "Loupe Demo Market — Central"
        assert (s002.timezone, s002.currency, s002.auto_accept_threshold) == ("Europe/Amsterdam", "EUR", 0.90)
        assert list(s001.cameras.values_list("code", flat=True)) == [f"C{n:02d}" for n in range(1, 7)]
        assert list(s002.cameras.values_list("code", flat=True)) == [f"C{n:02d}" for n in range(1, 5)]
        assert s001.products.count() == 120 and s002.products.count() == 80
        assert s001.products.last().sku == "SKU-0120"
        product = s002.products.get(sku="SKU-0042")
        assert product.image and product.thumbnail and product.price_minor > 0
        assert not Product.objects.filter(image="").exists()
        assert "Demo data ready" in seeded

    def test_seed_demo_creates_the_demo_people_and_integration(self, seeded):
        for login in people.DEMO_LOGINS:
            user = User.objects.get(username=login.username)
            assert user.check_password(login.password)
            if login.role == people.ADMIN:
                assert user.is_superuser and user.is_staff
            else:
                assert roles.has_role(user, login.role) and not user.is_superuser
                assert sorted(user.stores.values_list("code", flat=True)) == list(login.store_codes)
        integration = User.objects.get(username=people.DEMO_INTEGRATION)
        assert roles.is_integration(integration)
        assert Token.objects.filter(user=integration).exists()

    def test_seed_demo_ingests_decodable_snippets_some_to_annotate(self, seeded):
        snippets = list(Snippet.objects.all())
        assert len(snippets) == 3
        for snippet in snippets:
            assert snippet.codec == "h264" and (snippet.width, snippet.height) == (320, 240)
            with snippet.file.open("rb") as f, av.open(f) as container:
                assert sum(1 for _ in container.decode(video=0)) == snippet.frame_count
        to_annotate = Task.objects.filter(kind="snippet_annotation")
        assert to_annotate.count() == 1  # clip-0001; one in three is sent for annotation
        assert Snippet.objects.get(external_id="clip-0001").predictions

    def test_seed_demo_routes_visits_both_ways(self, seeded):
        assert Visit.objects.count() == 20
        statuses = set(Visit.objects.values_list("status", flat=True))
        assert statuses == {Visit.Status.AUTO_ACCEPTED, Visit.Status.PENDING_REVIEW}
        assert Visit.objects.filter(status=Visit.Status.AUTO_ACCEPTED, receipts__isnull=True).count() == 0
        pending = Visit.objects.filter(status=Visit.Status.PENDING_REVIEW)
        assert (
            Task.objects.filter(kind="visit_validation", subject_id__in=pending.values("id")).count() == pending.count()
        )
        assert all(v.shopper.startswith("anon-") for v in Visit.objects.all())

    def test_seed_demo_twice_changes_nothing(self, seeded):
        before = counts()
        out = run("seed_demo", *SMALL)
        assert counts() == before
        assert "nothing (all present)" in out

    def test_demo_logins_prints_each_demo_user_and_the_integration_token(self, seeded):
        out = run("demo_logins", "--url", "http://127.0.0.1:8123/")
        assert "http://127.0.0.1:8123/" in out
        assert "DEMO ONLY" in out
        for login in people.DEMO_LOGINS:
            assert login.username in out and login.password in out
        assert Token.objects.get(user__username=people.DEMO_INTEGRATION).key in out


def test_seed_demo_if_empty_skips_a_database_that_has_a_store(db, media):
    StoreFactory(code="X001")
    out = run("seed_demo", "--if-empty", *SMALL)
    assert "not loading demo data" in out
    assert (Store.objects.count(), Product.objects.count(), User.objects.count()) == (1, 0, 0)


def test_demo_logins_without_demo_data_says_how_to_create_a_user(db):
    out = run("demo_logins")
    assert "No demo logins" in out
    assert "add_user" in out and "createsuperuser" in out


def test_demo_visits_have_a_realistic_confidence_mix():
    now = timezone.now()
    plan = snippet_plan(count=60, seed=7)
    visits = [visit_payload(n=n, seed=7, now=now, snippets=plan) for n in range(500)]
    unsure = [v for v in visits if min(e["confidence"] for e in v["events"]) < 0.9]
    assert 0.12 < len(unsure) / len(visits) < 0.3
    sla = dt.timedelta(minutes=15)
    breaching = [v for v in unsure if dt.datetime.fromisoformat(v["exited_at"]) + sla < now]
    assert 0 < len(breaching) < len(unsure) / 3
    assert all(now - dt.datetime.fromisoformat(v["exited_at"]) < dt.timedelta(hours=6) for v in visits)
    for visit in visits:
        assert 1 <= len(visit["events"]) <= 12
        held: dict[str, int] = {}
        for event in visit["events"]:
            assert 0 <= len(event["candidates"]) <= 3
            held[event["sku"]] = held.get(event["sku"], 0) + event["quantity"] * (
                1 if event["action"] == "take" else -1
            )
            assert held[event["sku"]] >= 0  # never puts back what was not taken
    assert any(e["action"] == "put_back" for v in visits for e in v["events"])
    assert {v["model_version"] for v in visits} == set(MODEL_VERSIONS)
