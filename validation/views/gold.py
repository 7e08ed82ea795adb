""" "Make this a gold visit" from a validated visit's review page (the API's door is
`validation.api_gold`). Visits outside the supervisor's stores are 404."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from catalog.gates import supervisor_required
from infra.errors import LoupeError
from validation.access import visit_for_user
from validation.services.gold import gold_visit_from_visit


@require_POST
@supervisor_required
def gold_from_visit(request: HttpRequest, visit_id) -> HttpResponse:
    """A copy of the validated visit becomes gold, its truth the accepted answer; back to `next`."""
    visit = visit_for_user(request.user, visit_id)
    try:
        gold = gold_visit_from_visit(visit=visit, by=request.user)
    except LoupeError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Gold visit {gold.visit.external_id} added: associates will be scored on it.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) or not target.startswith("/"):
        target = "/supervise/associates/"
    return redirect(target)
