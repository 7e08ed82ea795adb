from django.contrib.auth.decorators import login_required, user_passes_test
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from catalog.roles import is_associate, is_supervisor


@require_GET
@login_required
@user_passes_test(is_associate)
def work_home(request: HttpRequest) -> HttpResponse:
    return render(request, "annotator/work_home.html", {})


@require_GET
@login_required
@user_passes_test(is_supervisor)
def supervise(request: HttpRequest) -> HttpResponse:
    return render(request, "annotator/supervise.html", {})
