"""The supervisor's webhook deliveries: a filtered list, one delivery with its attempts, and
replay (one, or every failed one). Only deliveries of receipts of the supervisor's stores,
found through `validation.access` (404 outside them); the replays are the services of
`validation.webhooks`."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from catalog.access import stores_for_user
from catalog.gates import supervisor_required
from infra.errors import LoupeError
from validation.access import deliveries_for_user, delivery_for_user
from validation.forms import DeliveryFilterForm
from validation.models import WebhookDelivery
from validation.webhooks import deliveries_replay_failed, delivery_replay

PAGE_SIZE = 50
REPLAYABLE = (WebhookDelivery.Status.FAILED, WebhookDelivery.Status.DISABLED)


@require_GET
@supervisor_required
def delivery_list(request: HttpRequest) -> HttpResponse:
    """Newest first, 50 a page. Bad filters answer 400 with the form's errors and no rows."""
    form = DeliveryFilterForm(request.GET or None)
    deliveries = deliveries_for_user(request.user).select_related("endpoint", "event").order_by("-created_at", "-id")
    status = 200
    if form.is_bound and not form.is_valid():
        deliveries, status = deliveries.none(), 400
    elif form.is_bound:
        deliveries = form.apply(deliveries)
    deliveries = deliveries.annotate(attempt_count=Count("attempt_log"))
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "replayable": REPLAYABLE}
    return render(request, "validation/deliveries.html", context, status=status)


@require_GET
@supervisor_required
def delivery_detail(request: HttpRequest, delivery_id) -> HttpResponse:
    delivery = delivery_for_user(request.user, delivery_id)
    context = {"delivery": delivery, "attempts": delivery.attempt_log.order_by("number", "started_at")}
    context["replayable"] = delivery.status in REPLAYABLE
    return render(request, "validation/delivery.html", context)


@require_POST
@supervisor_required
def delivery_replay_one(request: HttpRequest, delivery_id) -> HttpResponse:
    delivery = delivery_for_user(request.user, delivery_id)
    try:
        delivery_replay(delivery=delivery)
    except LoupeError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, "Replayed: the delivery is pending again.")
    return redirect("validation:delivery", delivery_id=delivery.id)


@require_POST
@supervisor_required
def deliveries_replay(request: HttpRequest) -> HttpResponse:
    count = deliveries_replay_failed(stores=stores_for_user(request.user))
    messages.success(request, f"Replayed {count} failed deliveries." if count else "No failed delivery to replay.")
    return redirect("validation:deliveries")
