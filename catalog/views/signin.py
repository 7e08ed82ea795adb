"""The sign-in page's answer while django-axes locks a username out from an address."""

import math

from axes.helpers import get_cool_off
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The sign-in page, saying that this username is locked out from this address for now
    (django-axes calls this once LOGIN_FAILURE_LIMIT wrong passwords were tried)."""
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    context = {
        "form": AuthenticationForm(request, initial={"username": (credentials or {}).get("username", "")}),
        "locked_out": True,
        "lockout_minutes": minutes,
        "next": request.POST.get("next", "") if request.method == "POST" else "",
    }
    return render(request, "registration/login.html", context, status=429)
