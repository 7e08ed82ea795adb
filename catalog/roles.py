"""The roles Loupe knows. They are Django groups; superusers are admins.

A user's roles are read once per request and kept on the user object (`_loupe_roles`, the
names in ROLES the user's groups carry). `RoleTokenAuthentication` reads them in the same
query as the token and its user, so a token-authenticated API request pays no extra round
trip for its role checks.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from catalog.prepared import Prepared, model_from_row

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


def _role_flag(role: str) -> str:
    return f"_loupe_is_{role}"


def _token_with_user_and_roles(*, key: str) -> tuple[str, list]:
    """The token, its user's columns and one EXISTS per role, in one SELECT."""
    flags = {_role_flag(role): Exists(Group.objects.filter(user=OuterRef("user_id"), name=role)) for role in ROLES}
    user_columns = [f"user__{field.attname}" for field in get_user_model()._meta.concrete_fields]
    tokens = Token.objects.filter(key=key).annotate(**flags)
    columns = [field.attname for field in Token._meta.concrete_fields] + user_columns + list(flags)
    return tokens.values_list(*columns).query.sql_with_params()


TOKEN_WITH_USER_AND_ROLES = Prepared(_token_with_user_and_roles, key=str)


class RoleTokenAuthentication(TokenAuthentication):
    """DRF's token authentication (same header, same errors), reading the user's roles in the
    token query: one EXISTS per role instead of a second query for the groups. The statement
    is compiled once per process (`catalog.prepared`)."""

    def authenticate_credentials(self, key):
        rows = TOKEN_WITH_USER_AND_ROLES.run(key=key)
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        (row,) = rows
        token_width = len(Token._meta.concrete_fields)
        user_width = len(get_user_model()._meta.concrete_fields)
        token = model_from_row(Token, row[:token_width])
        user = model_from_row(get_user_model(), row[token_width : token_width + user_width])
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        flags = row[token_width + user_width :]
        user._loupe_roles = frozenset(role for role, flag in zip(ROLES, flags, strict=True) if flag)
        token.user = user
        return (user, token)
