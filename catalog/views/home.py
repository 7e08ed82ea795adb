"""The signed-in home page: links to the caller's work, console and datasets, by role."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from catalog.access import stores_for_user
from catalog.gates import signed_in_required


@require_GET
@signed_in_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "catalog/home.html", {"stores": stores_for_user(request.user)})
