"""Role gates: who may open a page or call an endpoint at all, decided by role before anything
is looked up. Every HTML and htmx view wears exactly one gate from here, every API view one
permission class from here; `tests/test_access_sweep.py` checks both.

Pages and htmx endpoints (the decorators) answer everyone the same way:

- anonymous: a redirect to the login page (with `next`), so a bookmark works after sign-in;
- signed in without the role: 403, on a page that says who the page is for
  (`templates/403.html`). Which pages a role has is no secret (the menu and the home page show
  them by role), and a 403 tells the person what happened, where `user_passes_test` sent a
  signed-in person to a login form that cannot help them;
- with the role: the view, which finds every object through `catalog.access`,
  `annotator.access` or `validation.access`: 404 for anything outside the caller's stores.
  What stays hidden is whether another store's objects exist, not which pages exist.

Superusers hold every role (`catalog.roles.has_role`). API views (the permission classes)
answer the same two cases with 401 and 403 in the API's error shape (`infra.errors`).
Exceptions, listed in the sweep's `UNGATED`: snippet media (`annotator.views.media`) also
serves token clients, so it answers 401 without credentials and 404 to anyone
`snippet_for_viewer` refuses; `/metrics` also takes the scraper's bearer token.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.permissions import BasePermission

from catalog.roles import ASSOCIATE, INTEGRATION, SUPERVISOR, has_role


def holds_any(user, roles: tuple[str, ...]) -> bool:
    return any(has_role(user, role) for role in roles)


@dataclass(frozen=True)
class Gate:
    """A view decorator admitting signed-in users that `admits`. The gated view carries the
    gate as its `gate` attribute, through any decorator that uses `functools.wraps`."""

    # Who may pass, as the 403 page says it: "This page is for supervisors."
    who: str
    admits: Callable[..., bool]

    def __call__(self, view: Callable) -> Callable:
        @wraps(view)
        def gated(request: HttpRequest, *args, **kwargs):
            if not self.admits(request.user):
                raise PermissionDenied(f"This page is for {self.who}.")
            return view(request, *args, **kwargs)

        gated = login_required(gated)
        gated.gate = self
        return gated


def role_gate(*roles: str) -> Gate:
    return Gate(" and ".join(f"{role}s" for role in roles), lambda user: holds_any(user, roles))


signed_in_required = Gate("signed-in users", lambda user: True)
associate_required = role_gate(ASSOCIATE)
supervisor_required = role_gate(SUPERVISOR)
# Product packshots: the people who see task screens.
associate_or_supervisor_required = role_gate(ASSOCIATE, SUPERVISOR)
# Datasets: supervisors, and ML pipelines signed in as their integration user.
supervisor_or_integration_required = role_gate(SUPERVISOR, INTEGRATION)
superuser_required = Gate("superusers", lambda user: user.is_superuser)


class RolePermission(BasePermission):
    """DRF's side of a gate: anonymous → 401 (DRF's NotAuthenticated, as no authenticator
    succeeded), signed in without one of `roles` → 403 with `message`."""

    roles: tuple[str, ...] = ()

    def has_permission(self, request, view) -> bool:
        return holds_any(request.user, self.roles)


class IsSupervisor(RolePermission):
    roles = (SUPERVISOR,)
    message = "Only supervisors may do this."


class IsAssociateOrSupervisor(RolePermission):
    """The work API: associates, and supervisors claiming their escalations."""

    roles = (ASSOCIATE, SUPERVISOR)
    message = "Only associates and supervisors may do this."


class IsIntegration(RolePermission):
    roles = (INTEGRATION,)
    message = "Only integration clients may do this."


class IsSupervisorOrIntegration(RolePermission):
    roles = (SUPERVISOR, INTEGRATION)
    message = "Only supervisors and integration clients may do this."
