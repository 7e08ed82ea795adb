"""The roles Loupe knows. They are Django groups; superusers are admins."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

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
        cache = set(user.groups.values_list("name", flat=True))
        user._loupe_roles = cache
    return role in cache


def is_associate(user) -> bool:
    return has_role(user, ASSOCIATE)


def is_supervisor(user) -> bool:
    return has_role(user, SUPERVISOR)


def is_integration(user) -> bool:
    return has_role(user, INTEGRATION)
