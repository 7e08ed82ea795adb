"""Shared fixtures: the named personas of the access tests.

Two stores, S001 and S002. `alice` is an associate of S001 (`dave` a second one), `bob` an
associate of S002, `sam` a supervisor of S002, `carol` a supervisor of S001,
`s002_integration` an integration client of S002 and `s001_integration` one of S001. Tests
about "another store's object" use S001's objects with the S002 personas.
"""

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import connection
from pytest_django.plugin import blocking_manager_key
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog import roles
from catalog.models import Camera, Product, Store, StoreAccess
from infra import periodic
from tests import db_template
from validation.services import routing


def pytest_configure(config):
    # Password hashing is deliberately slow; tests create many users and never need it slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests call the API faster than any client should; the throttle tests set their own rates.
    from rest_framework.settings import api_settings

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": None, "anon": None}}
    api_settings.reload()  # DRF read its settings when this file's imports loaded it
    # The visit bodies of the tests are pinned to 2026-11-24 (replays, hashes, deadlines);
    # the tests of the age limit (tests/validation/test_visit_age.py) set it back.
    settings.VISIT_MAX_AGE_DAYS = 365_000


# First: xdist's worker turns the `xdist_group` mark into the node id's "@group" suffix in its
# own pytest_collection_modifyitems; a mark added after that hook is never seen.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL")
        for item in items:
            if "postgres_only" in item.keywords:
                item.add_marker(skip)
    # Under xdist (`make test`: --dist loadgroup) the browser tests run one after another on
    # one worker: each drives a Chromium against a live server, and several at once on two
    # cores made their timing-sensitive waits flaky. Everything else spreads over the workers.
    browser = pytest.mark.xdist_group("browser")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(browser)


def pytest_collection_finish(session):
    """Refuse to run when `--dist loadgroup` ignored the groups: it once did so silently (pytest
    9.2 with pytest-xdist 3.8), and every worker then drove its own Chromium at once."""
    if not getattr(session.config.option, "loadgroup", False):  # set on xdist's workers only
        return
    lost = [item.nodeid for item in session.items if any(item.iter_markers("xdist_group")) and "@" not in item.nodeid]
    if lost:
        raise pytest.UsageError(f"pytest-xdist did not group {len(lost)} tests, e.g. {lost[0]} (pytest version?)")


# A seed whose first 200 draws are all above 0.028: under the default audit rate (2 %) no
# visit a test posts is audited unless the test asks for audits (a rate, or its own rng).
AUDIT_SEED = 34


@pytest.fixture(autouse=True)
def periodic_commands_keep_the_test_connection(monkeypatch):
    """A periodic command (infra.periodic) drops stale connections before each round; run in
    process inside a test's transaction, that would close the test's own connection."""
    monkeypatch.setattr(periodic, "close_old_connections", lambda: None)


@pytest.fixture(autouse=True)
def reproducible_audits():
    """Routing audits a random `audit_rate` share of auto-accepted visits. Left to chance,
    a test that posts such visits got an extra audit task now and then (and failed one run
    in twenty-odd); every test starts from the same draw instead."""
    routing.audit_rng.seed(AUDIT_SEED)


CLONED = pytest.StashKey[bool]()


def _clones(config) -> bool:
    """PostgreSQL under pytest-xdist: each worker's database is a copy of one migrated
    template (tests/db_template.py)."""
    return connection.vendor == "postgresql" and hasattr(config, "workerinput") and not config.getvalue("reuse_db")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings, request, django_db_blocker):
    if _clones(request.config):
        with django_db_blocker.unblock():
            db_template.clone_from_template()
        request.config.stash[CLONED] = True


@pytest.fixture(scope="session")
def django_db_keepdb(django_db_keepdb, django_db_modify_db_settings, request):
    """A cloned database is ready: pytest-django finds it instead of migrating another."""
    return django_db_keepdb or request.config.stash.get(CLONED, False)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, request):
    """pytest-django's test database, dropped reliably at the end.

    Thread-based tests (concurrent claimers, live servers, webhook receivers) can leave a
    connection open in a finished thread; PostgreSQL refuses to drop a database in use, so
    those sessions are ended first.
    """
    yield
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            if request.config.stash.get(CLONED, False):
                db_template.drop_worker_database()


@pytest.fixture(scope="session", autouse=True)
def flush_by_delete():
    """Between transactional tests (live servers, threads) Django empties every table with one
    TRUNCATE, which PostgreSQL makes new files for: about 0.3 s a test, while DELETE of the
    few rows a test leaves takes 10 ms. The foreign keys are deferred (Django's), so one
    transaction of DELETEs in any order leaves nothing behind (tests/test_flush.py). A flush
    asked to reset the sequences keeps Django's TRUNCATE ... RESTART IDENTITY."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences:
            return truncate(self, style, tables, reset_sequences=True, allow_cascade=allow_cascade)
        return [f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};" for table in tables]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


def pytest_sessionfinish(session):
    """The xdist controller drops the template its PostgreSQL workers copied."""
    config = session.config
    controller = not hasattr(config, "workerinput") and config.getoption("numprocesses", None)
    if not controller or connection.vendor != "postgresql":
        return
    database = settings.DATABASES["default"]
    with config.stash[blocking_manager_key].unblock():
        db_template.drop_template(database.get("TEST", {}).get("NAME") or f"test_{database['NAME']}")


PASSWORD = "pw-loupe-test"  # every persona's (and tests.factories.UserFactory's) password
_password_hashes: dict[tuple[str, ...], str] = {}


def password_hash() -> str:
    """PASSWORD hashed once per set of PASSWORD_HASHERS (a test may set its own)."""
    hashers = tuple(settings.PASSWORD_HASHERS)
    if hashers not in _password_hashes:
        _password_hashes[hashers] = make_password(PASSWORD)
    return _password_hashes[hashers]


def make_store(code: str, name: str, *, cameras: tuple[str, ...], products: int, price_step: int) -> Store:
    """A store with its cameras and products SKU-0001..: three inserts. Nearly every test
    builds one or two of these, and the factories' get-or-create took four queries an object."""
    store = Store.objects.create(code=code, name=name, currency="EUR")
    Camera.objects.bulk_create(Camera(store=store, code=camera) for camera in cameras)
    Product.objects.bulk_create(
        Product(store=store, sku=f"SKU-{n:04d}", name=f"{code} product {n}", price_minor=price_step * n, currency="EUR")
        for n in range(1, products + 1)
    )
    return store


def make_persona(username: str, role: str, store: Store) -> User:
    """A user of one role in one store (tests.factories.UserFactory, in four queries)."""
    user = User.objects.create(username=username, password=password_hash())
    User.groups.through.objects.create(user=user, group=Group.objects.get_or_create(name=role)[0])
    StoreAccess.objects.create(store=store, user=user)
    return user


@pytest.fixture
def s001(db):
    return make_store("S001", "Demo Market Central", cameras=("C01", "C02"), products=5, price_step=100)


@pytest.fixture
def s002(db):
    return make_store("S002", "Demo Market North", cameras=("C01",), products=3, price_step=150)


@pytest.fixture
def alice(s001):
    return make_persona("alice", roles.ASSOCIATE, s001)


@pytest.fixture
def dave(s001):
    """A second associate of S001 (for two people working the same queue)."""
    return make_persona("dave", roles.ASSOCIATE, s001)


@pytest.fixture
def bob(s002):
    return make_persona("bob", roles.ASSOCIATE, s002)


@pytest.fixture
def carol(s001):
    return make_persona("carol", roles.SUPERVISOR, s001)


@pytest.fixture
def sam(s002):
    return make_persona("sam", roles.SUPERVISOR, s002)


@pytest.fixture
def s001_integration(s001):
    return make_persona("cv-s001", roles.INTEGRATION, s001)


@pytest.fixture
def s002_integration(s002):
    return make_persona("cv-s002", roles.INTEGRATION, s002)


def token_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def api():
    """Unauthenticated API client."""
    return APIClient()
