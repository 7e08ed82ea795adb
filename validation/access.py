"""Who may see which visit and receipt. Visits and receipts are seen by the integrations and
supervisors of their store (and superusers); the API refuses every other role with 403
(`catalog.gates.IsSupervisorOrIntegration`; associates see visits only through the tasks they
hold) before looking anything up, and answers 404 for anything outside the caller's stores, so a
caller cannot learn that another store's visit exists."""

import uuid

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from annotator.models import GoldTask
from catalog import roles
from catalog.access import stores_for_user
from validation.models import Receipt, Visit, WebhookDelivery


def can_see_shopper(user) -> bool:
    """The shopper token is the store's own pseudonym: only its integrations get it back."""
    return roles.is_integration(user)


def _as_uuid(value) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise Http404("No such object.") from None


def visits_for_user(user) -> QuerySet[Visit]:
    return Visit.objects.filter(store__in=stores_for_user(user))


def visit_for_user(user, visit_id) -> Visit:
    """A visit of a store the user is granted, or 404."""
    try:
        return visits_for_user(user).select_related("store").get(pk=_as_uuid(visit_id))
    except Visit.DoesNotExist:
        raise Http404("No such visit.") from None


def gold_visit_for_user(user, visit_id) -> Visit:
    """A gold visit of a store the user is granted, or 404 (also for a real visit)."""
    gold = GoldTask.objects.filter(task__subject_id=OuterRef("pk"))
    try:
        return visits_for_user(user).select_related("store").filter(Exists(gold)).get(pk=_as_uuid(visit_id))
    except Visit.DoesNotExist:
        raise Http404("No such gold visit.") from None


def receipt_for_user(user, receipt_id) -> Receipt:
    """A receipt of a visit of a store the user is granted, or 404."""
    try:
        return (
            Receipt.objects.filter(visit__store__in=stores_for_user(user))
            .prefetch_related("lines")
            .get(pk=_as_uuid(receipt_id))
        )
    except Receipt.DoesNotExist:
        raise Http404("No such receipt.") from None


def deliveries_for_user(user) -> QuerySet[WebhookDelivery]:
    """Webhook deliveries of receipts of visits of the user's stores."""
    return WebhookDelivery.objects.filter(event__receipt__visit__store__in=stores_for_user(user))


def delivery_for_user(user, delivery_id) -> WebhookDelivery:
    """A delivery of a receipt of a store the user is granted, or 404."""
    try:
        return (
            deliveries_for_user(user)
            .select_related("endpoint", "event__receipt__visit__store")
            .get(pk=_as_uuid(delivery_id))
        )
    except WebhookDelivery.DoesNotExist:
        raise Http404("No such delivery.") from None
