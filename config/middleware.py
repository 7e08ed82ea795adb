import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

SEEN_AT = "seen_at"

# No inline scripts or styles anywhere: htmx is loaded from static/ and configured through a
# <meta name="htmx-config"> tag with its inline-style indicator turned off.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)
# The API docs page (Swagger UI from drf-spectacular-sidecar, split view: its init script is
# a URL, not inline) needs inline styles only: drf-spectacular's page has a <style> block and
# Swagger UI sets style attributes. Scripts stay 'self'.
API_DOCS_PATH = "/api/docs/"
API_DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = API_DOCS_CONTENT_SECURITY_POLICY if request.path == API_DOCS_PATH else CONTENT_SECURITY_POLICY
        response.headers.setdefault("Content-Security-Policy", policy)
        return response


class NoStoreForSignedInMiddleware:
    """Answers to a signed-in person or a token hold store data: no browser or proxy keeps them.

    Shared computers in stores and back offices are common; without this, the back button
    after sign-out, or a proxy, could show a queue, a visit or an API answer to the next
    person. A view that sets its own Cache-Control has decided (lease-checked media sends
    `private, no-store`; catalog packshots `private, max-age=3600`) and is left alone.
    Static files never get here (WhiteNoise answers them earlier).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # DRF's token authentication sets request.user on this request too.
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if "Cache-Control" not in response and (signed_in or "HTTP_AUTHORIZATION" in request.META):
            add_never_cache_headers(response)
        return response


class SessionIdleMiddleware:
    """A browser session ends after SESSION_COOKIE_AGE seconds without a request of the
    person's own (an idle timeout, not a fixed time after sign-in).

    The session's expiry moves only when the session is saved, so a request by the person
    stamps `seen_at` in it, at most once a `SESSION_TOUCH_S` (one write a minute, not one a
    request). Requests the page sends by itself carry `X-Loupe-Background` (htmx polls,
    workbench heartbeats; static/js/loupe.js and workbench/net.js): they neither keep an
    idle session alive nor set its cookie again, so a console left polling still ends, and a
    poll answered after a sign-out elsewhere cannot hand the old cookie back.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "HTTP_X_LOUPE_BACKGROUND" not in request.META:
            now = int(time.time())
            if now - request.session.get(SEEN_AT, 0) >= settings.SESSION_TOUCH_S:
                request.session[SEEN_AT] = now
        return self.get_response(request)
