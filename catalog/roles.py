"""The roles Loupe knows. They are Django groups; superusers are admins.

A user's roles are read once per request and kept on the user object (`_loupe_roles`, the
names in ROLES the user's groups carry). `RoleTokenAuthentication` reads them in the same
query as the token and its user, so a token-authenticated API request pays no extra round
trip for its role checks.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

ASSOCIATE = "associate"
SUPERVISOR = "supervisor"
INTEGRATION = "integration"
ROLES = (ASSOCIATE, SUPERVISOR, INTEGRATION)


def has_role(user: AbstractBaseUser | AnonymousUser, role: str) -> bool:
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    cache = getattr(user, "_loupe_roles", None)
    if cache is None:
        cache = frozenset(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._loupe_roles = cache
    return role in cache


def is_associate(user) -> bool:
    return has_role(user, ASSOCIATE)


def is_supervisor(user) -> bool:
    return has_role(user, SUPERVISOR)


def is_integration(user) -> bool:
    return has_role(user, INTEGRATION)


class RoleTokenAuthentication(TokenAuthentication):
    """DRF's token authentication (same header, same errors), reading the user's roles in the
    token query: a join to their groups (one row per group) instead of a second query."""

    def authenticate_credentials(self, key):
        rows = list(Token.objects.select_related("user").annotate(group=F("user__groups__name")).filter(key=key))
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token = rows[0]
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token.user._loupe_roles = frozenset(row.group for row in rows) & frozenset(ROLES)
        return (token.user, token)
