"""Onboarding people (associates and supervisors) and who works which queue.

An associate works the queues of the stores they are granted: onboarding makes them a member
of those stores' queues, and a queue created later takes in the store's associates
(`queue_members_add_associates`, called by `queues.queue_for`). Supervisors are not queue
members; they watch every queue of their stores.
"""

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from annotator.models import Queue, QueueMembership
from catalog import roles
from catalog.access import user_has_store
from catalog.models import Store
from catalog.services import store_access_set, stores_from_codes, username_check
from infra.errors import Conflict, LoupeError

PEOPLE_ROLES = (roles.ASSOCIATE, roles.SUPERVISOR)
GENERATED_PASSWORD_BYTES = 18  # 24 URL-safe characters


@dataclass(frozen=True)
class Onboarded:
    user: User
    # The password in clear, only when it was generated here (to hand over once); else None.
    password: str | None
    generated: bool
    created: bool


@transaction.atomic
def person_onboard(
    *, username: str, role: str, store_codes: Iterable[str], password: str | None = None, update: bool = False
) -> Onboarded:
    """Create (or with `update`, re-state) a person: their role, their stores, their queues.

    - `role` is `associate` or `supervisor`; the user ends up in exactly that one of the two
      groups. Integrations are made with `catalog.services.integration_create` instead.
    - The grants become exactly `store_codes`; every code must exist, else nothing is written.
    - An associate becomes a member of every queue of those stores, and leaves the queues of
      stores no longer granted (never of a supervisors-only one); a supervisor is a member of
      the escalation queues of their stores only.
    - A given password must pass Django's password validators. A new user without one gets
      a generated password (returned once, `generated=True`); an updated user keeps theirs.
    - An existing username is refused (Conflict `user_exists`) unless `update`.

    Locks the user row when it exists.
    """
    if role not in PEOPLE_ROLES:
        raise LoupeError(
            f"Unknown role {role!r}; use one of {', '.join(PEOPLE_ROLES)}.", code="invalid_role", field="role"
        )
    username = username_check(username=username)
    stores = stores_from_codes(codes=store_codes)
    user = User.objects.select_for_update().filter(username=username).first()
    created = user is None
    if user is None:
        user = User(username=username)
    elif not update:
        raise Conflict(f"User {username} already exists; update them instead (--update).", code="user_exists")
    elif user.groups.filter(name=roles.INTEGRATION).exists():
        raise Conflict(f"{username} is an integration, not a person.", code="not_a_person")

    generated = False
    if password is not None:
        _password_check(password, user)
        user.set_password(password)
    elif created:
        password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
        generated = True
        user.set_password(password)
    if created:
        user.save()
    elif password is not None:
        user.save(update_fields=["password"])

    other_roles = [name for name in PEOPLE_ROLES if name != role]
    user.groups.remove(*Group.objects.filter(name__in=other_roles))
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    store_access_set(user=user, stores=stores)
    # Supervisors work the escalation queues of their stores only; associates every other queue.
    queues = Queue.objects.filter(store__in=stores, supervisors_only=role == roles.SUPERVISOR)
    QueueMembership.objects.filter(user=user).exclude(queue__in=queues).delete()
    QueueMembership.objects.bulk_create(
        [QueueMembership(queue=queue, user=user) for queue in queues], ignore_conflicts=True
    )
    return Onboarded(user=user, password=password if generated else None, generated=generated, created=created)


def _password_check(password: str, user: User) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise LoupeError(" ".join(exc.messages), code="weak_password", field="password") from None


def queue_members_add_associates(*, queue: Queue) -> int:
    """Make the active associates granted the queue's store members of `queue`.

    Idempotent (existing memberships stay). Returns how many were added or already there.
    """
    associates = User.objects.filter(
        is_active=True, groups__name=roles.ASSOCIATE, storeaccess__store_id=queue.store_id
    ).distinct()
    memberships = [QueueMembership(queue=queue, user=user) for user in associates]
    QueueMembership.objects.bulk_create(memberships, ignore_conflicts=True)
    return len(memberships)


@transaction.atomic
def queue_membership_set(*, queue: Queue, user: User, member: bool) -> bool:
    """Add `user` to `queue` (`member=True`) or take them out; returns whether anything changed.

    Only an associate granted the queue's store can be made a member (LoupeError
    `not_an_associate` / `store_not_granted` otherwise); taking anyone out always works.
    The caller (a supervisor's view) checks that the supervisor may manage this queue's
    store. Idempotent: the unique (queue, user) constraint is the backstop for races.
    """
    if not member:
        deleted, _ = QueueMembership.objects.filter(queue=queue, user=user).delete()
        return deleted > 0
    if not user.is_active or not user.groups.filter(name=roles.ASSOCIATE).exists():
        raise LoupeError(f"{user.username} is not an active associate.", code="not_an_associate", field="user")
    store: Store = queue.store
    if not user_has_store(user, store):
        raise LoupeError(f"{user.username} is not granted store {store.code}.", code="store_not_granted", field="user")
    _, created = QueueMembership.objects.get_or_create(queue=queue, user=user)
    return created
