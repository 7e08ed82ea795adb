"""Store grants, integrations (machine clients with an API token) and API tokens for people."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from catalog import roles
from catalog.models import Store, StoreAccess
from infra.errors import Conflict, LoupeError


def stores_from_codes(*, codes: Iterable[str]) -> list[Store]:
    """The stores named by `codes`, in that order. Refuses an empty list and unknown codes
    (LoupeError `unknown_store`, naming every unknown code)."""
    wanted = list(dict.fromkeys(code.strip() for code in codes if code.strip()))
    if not wanted:
        raise LoupeError("Name at least one store code.", code="no_store", field="stores")
    found = {store.code: store for store in Store.objects.filter(code__in=wanted)}
    if unknown := [code for code in wanted if code not in found]:
        raise LoupeError(f"Unknown store code(s): {', '.join(unknown)}.", code="unknown_store", field="stores")
    return [found[code] for code in wanted]


def username_check(*, username: str) -> str:
    """The username as Django's user model accepts it, or LoupeError `invalid_username`."""
    username = username.strip()
    if not username or len(username) > User._meta.get_field("username").max_length:
        raise LoupeError("A username has 1-150 characters.", code="invalid_username", field="username")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError as exc:
        raise LoupeError(" ".join(exc.messages), code="invalid_username", field="username") from None
    return username


def store_access_set(*, user: User, stores: Iterable[Store]) -> None:
    """Make `user`'s grants exactly `stores` (adds the missing, removes the others)."""
    stores = list(stores)
    StoreAccess.objects.filter(user=user).exclude(store__in=stores).delete()
    StoreAccess.objects.bulk_create([StoreAccess(user=user, store=store) for store in stores], ignore_conflicts=True)


@dataclass(frozen=True)
class IntegrationCredentials:
    user: User
    token: str
    created: bool


@transaction.atomic
def integration_create(*, name: str, store_codes: Iterable[str] | None, rotate: bool = False) -> IntegrationCredentials:
    """Create a machine client: user `name` in group `integration` with no usable password,
    granted `store_codes`, with a new API token whose key is returned (and stored nowhere
    else in clear but the token table, as DRF does).

    An existing `name` is refused (Conflict `integration_exists`) unless `rotate`: then its
    token is replaced (the old key stops working at once) and, when `store_codes` is given,
    its grants become exactly those stores. Only integrations can be rotated, never a
    person's account. Unknown store codes refuse the whole call. Locks the user row.
    """
    stores = stores_from_codes(codes=store_codes) if store_codes is not None else None
    user = User.objects.select_for_update().filter(username=name.strip()).first()
    if user is None:
        if stores is None:
            raise LoupeError("Name the stores of a new integration.", code="no_store", field="stores")
        user = User(username=username_check(username=name))
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get_or_create(name=roles.INTEGRATION)[0])
        store_access_set(user=user, stores=stores)
        return IntegrationCredentials(user=user, token=Token.objects.create(user=user).key, created=True)

    if not rotate:
        raise Conflict(
            f"{user.username} already exists; rotate its token to get a new one (--rotate).",
            code="integration_exists",
        )
    group_names = set(user.groups.values_list("name", flat=True))
    if user.is_superuser or user.is_staff or group_names != {roles.INTEGRATION}:
        raise Conflict(f"{user.username} is not an integration; its token is not rotated here.", code="not_integration")
    if stores is not None:
        store_access_set(user=user, stores=stores)
    Token.objects.filter(user=user).delete()
    return IntegrationCredentials(user=user, token=Token.objects.create(user=user).key, created=False)


@transaction.atomic
def api_token_issue(*, username: str) -> tuple[User, str]:
    """A new API token for an existing, active user (an associate's headless annotation
    client, a supervisor's script): the user and the key, which is stored nowhere else in
    clear but the token table. A token the user had is revoked (its key stops working at
    once): one token per user, as DRF's token model allows. Locks the user row.

    The token acts with the user's own roles and stores, no more; refuses an unknown or
    inactive user (LoupeError `unknown_user`).
    """
    user = User.objects.select_for_update().filter(username=username.strip(), is_active=True).first()
    if user is None:
        raise LoupeError(f"No active user {username!r}.", code="unknown_user", field="username")
    Token.objects.filter(user=user).delete()
    return user, Token.objects.create(user=user).key
