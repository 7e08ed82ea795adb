"""The demo logins (associates, a supervisor, an admin) and the demo integration.

The passwords below are for the demo only. Never run `seed_demo` against a real deployment.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from annotator.services.people import person_onboard
from catalog import roles
from catalog.services import integration_create
from validation.demo.summary import DemoSummary, Log

ADMIN = "admin"  # a superuser, not a group


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str  # associate, supervisor or admin
    store_codes: tuple[str, ...]  # none for the admin, who sees every store
    password: str  # demo only

    @property
    def stores_label(self) -> str:
        return ",".join(self.store_codes) or "all"


DEMO_LOGINS = (
    DemoLogin("ana", roles.ASSOCIATE, ("S001",), "loupe-ana-demo"),
    DemoLogin("ben", roles.ASSOCIATE, ("S001",), "loupe-ben-demo"),
    DemoLogin("chloe", roles.ASSOCIATE, ("S001", "S002"), "loupe-chloe-demo"),
    DemoLogin("sofia", roles.SUPERVISOR, ("S001", "S002"), "loupe-sofia-demo"),
    DemoLogin("admin", ADMIN, (), "loupe-admin-demo"),
)
DEMO_INTEGRATION = "demo-cv"
DEMO_INTEGRATION_STORES = ("S001", "S002")


def seed_people(*, log: Log, summary: DemoSummary) -> None:
    User = get_user_model()
    for login in DEMO_LOGINS:
        if User.objects.filter(username=login.username).exists():
            continue
        if login.role == ADMIN:
            User.objects.create_superuser(username=login.username, email="", password=login.password)
        else:
            person_onboard(
                username=login.username, role=login.role, store_codes=login.store_codes, password=login.password
            )
        summary.add("people")
        log(f"    {login.username} ({login.role}, {login.stores_label})")
    if not User.objects.filter(username=DEMO_INTEGRATION).exists():
        # DRF keeps the key in its token table, so `demo_logins` can print it again later.
        integration_create(name=DEMO_INTEGRATION, store_codes=DEMO_INTEGRATION_STORES)
        summary.add("people")
        log(f"    {DEMO_INTEGRATION} (integration, {', '.join(DEMO_INTEGRATION_STORES)})")


def demo_integration_token() -> str | None:
    token = Token.objects.filter(user__username=DEMO_INTEGRATION).first()
    return token.key if token else None
