"""A supervisor disputes a visit's receipt from a page (the API's door is `validation.api`): the
visit goes back to review, first in line. Visits outside their stores are 404."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from catalog.gates import supervisor_required
from infra.errors import LoupeError
from validation.access import visit_for_user
from validation.services.disputes import dispute_open as dispute_open_service


@require_POST
@supervisor_required
def dispute_open(request: HttpRequest, visit_id) -> HttpResponse:
    """A supervisor disputes a visit's receipt (the same service as the API's door).

    htmx: 204 with a `disputeOpened` event, or the error's detail with its status. A plain
    form post: a message and back to `next` (or home).
    """
    visit = visit_for_user(request.user, visit_id)
    try:
        dispute = dispute_open_service(
            visit=visit, reason=request.POST.get("reason"), sku=request.POST.get("sku") or None, opened_by=request.user
        )
    except LoupeError as error:
        if request.htmx:
            return HttpResponse(error.detail, status=error.status_code, content_type="text/plain")
        messages.error(request, error.detail)
        return _back(request)
    if request.htmx:
        response = HttpResponse(status=204)
        return trigger_client_event(
            response,
            "disputeOpened",
            {"dispute": str(dispute.id), "visit": str(visit.id), "task": str(dispute.task_id)},
        )
    messages.success(request, "Dispute opened: the visit is back in review, first in line.")
    return _back(request)


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("home")
