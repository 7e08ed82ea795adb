"""The signed-in home page: links to the caller's work, console and datasets, by role. An
associate with nothing else to choose from lands on their work home instead (after sign-in
too: LOGIN_REDIRECT_URL is this page)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from catalog.access import stores_for_user
from catalog.gates import signed_in_required
from catalog.roles import is_associate, is_supervisor


@require_GET
@signed_in_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if is_associate(user) and not is_supervisor(user) and not user.is_staff:
        return redirect("annotator:work")
    return render(request, "catalog/home.html", {"stores": stores_for_user(request.user)})
