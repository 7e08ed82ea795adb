"""The superuser's webhook endpoints page: list, create (the signing secret shown once, on the
answer to the create), enable/disable. Everyone else gets 403."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from catalog.gates import superuser_required
from infra.errors import LoupeError
from validation.forms import WebhookEndpointCreateForm
from validation.models import WebhookEndpoint
from validation.webhooks import webhook_endpoint_create, webhook_endpoint_set_active


def _page(request: HttpRequest, form: WebhookEndpointCreateForm, status: int = 200) -> HttpResponse:
    endpoints = WebhookEndpoint.objects.order_by("-created_at")
    return render(request, "validation/webhooks.html", {"form": form, "endpoints": endpoints}, status=status)


@require_GET
@superuser_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    return _page(request, WebhookEndpointCreateForm())


@require_POST
@never_cache
@superuser_required
def webhook_create(request: HttpRequest) -> HttpResponse:
    """The only answer that ever shows the secret: not cached, never stored in a message."""
    form = WebhookEndpointCreateForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        endpoint, secret = webhook_endpoint_create(url=form.cleaned_data["url"], events=form.cleaned_data["events"])
    except LoupeError as error:
        form.add_error(error.field if error.field in form.fields else None, error.detail)
        return _page(request, form, status=400)
    return render(request, "validation/webhook_created.html", {"endpoint": endpoint, "secret": secret}, status=201)


@require_POST
@superuser_required
def webhook_toggle(request: HttpRequest, endpoint_id) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    active = request.POST.get("active") == "1"
    webhook_endpoint_set_active(endpoint=endpoint, active=active)
    messages.success(request, f"{endpoint.url} is {'enabled' if active else 'disabled'}.")
    return redirect("validation:webhooks")
