"""Snippet media (video, poster, thumbnail), served only to who may see it, and audited.

Access is `annotator.access.snippet_for_viewer` (404 otherwise); every response that carries
media writes a `MediaView` row; a snippet whose media retention or an erasure purged answers
410 `media_purged`, one still being redacted 409 `snippet_redacting` and one that could not be
redacted 409 `redaction_failed` (its upload waits in a holding place no URL reaches, then is
deleted). Video honours single HTTP byte ranges so browsers can seek;
nothing here is cacheable by shared caches.
"""

import re
from collections.abc import Iterator

from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_safe
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from annotator.access import snippet_for_viewer
from annotator.models import MediaView, Snippet, Task
from infra.errors import error_body

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 64 * 1024
_CONTENT_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}


def _viewer(request: HttpRequest):
    """The session user, or a headless client's `Authorization: Token` user."""
    if request.user.is_authenticated:
        return request.user
    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    return found[0] if found else None


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _audit(user, snippet: Snippet, task: Task | None, what: str, byte_range: str = "") -> None:
    MediaView.objects.create(user=user, snippet=snippet, task=task, what=what, byte_range=byte_range)


def _access(request: HttpRequest, snippet_id):
    user = _viewer(request)
    if user is None:
        return None, None, _private(HttpResponse("Authentication required.", status=401, content_type="text/plain"))
    snippet, task = snippet_for_viewer(user, snippet_id)
    if snippet.media_purged_at is not None:
        gone = error_body("media_purged", "This snippet's media was deleted (retention or a shopper's erasure).")
        return None, None, _private(JsonResponse(gone, status=410))
    if snippet.status == Snippet.Status.REDACTING:
        busy = error_body(
            "snippet_redacting", "This snippet is still being redacted; its media follow once it is ready."
        )
        return None, None, _private(JsonResponse(busy, status=409))
    if snippet.status == Snippet.Status.FAILED:
        failed = error_body("redaction_failed", "This snippet could not be redacted; it has no media.")
        return None, None, _private(JsonResponse(failed, status=409))
    return user, (snippet, task), None


def parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """(first, last) byte of a single `bytes=` range; None to serve the whole file (no or
    unparseable header, or several ranges); False when the range cannot be satisfied."""
    match = _RANGE.match(header.strip()) if header else None
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            return False
        return max(0, size - suffix), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # syntactically invalid: ignored, as RFC 9110 asks
    if start >= size:
        return False
    return start, min(int(last) if last else size - 1, size - 1)


def _stream(name: str, start: int, length: int) -> Iterator[bytes]:
    with default_storage.open(name, "rb") as f:
        f.seek(start)
        while length > 0:
            chunk = f.read(min(_CHUNK, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk


@require_safe
def snippet_video(request: HttpRequest, snippet_id) -> HttpResponse:
    user, found, denied = _access(request, snippet_id)
    if denied:
        return denied
    snippet, task = found
    name = snippet.file.name
    size = default_storage.size(name)
    wanted = parse_range(request.headers.get("Range", ""), size)
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return _private(response)
    first, last = wanted if wanted else (0, size - 1)
    length = max(0, last - first + 1)
    body = _stream(name, first, length) if request.method == "GET" else iter(())
    response = StreamingHttpResponse(
        body, status=206 if wanted else 200, content_type=_CONTENT_TYPES[snippet.container]
    )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if wanted:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    _audit(user, snippet, task, "video", f"bytes={first}-{last}" if wanted else "")
    return _private(response)


def _image(request: HttpRequest, snippet_id, what: str) -> HttpResponse:
    user, found, denied = _access(request, snippet_id)
    if denied:
        return denied
    snippet, task = found
    field = snippet.poster if what == "poster" else snippet.thumbnail
    if not field.name:
        raise Http404("This snippet has no image.")
    with default_storage.open(field.name, "rb") as f:
        data = f.read()
    _audit(user, snippet, task, what)
    return _private(HttpResponse(data if request.method == "GET" else b"", content_type="image/jpeg"))


@require_safe
def snippet_poster(request: HttpRequest, snippet_id) -> HttpResponse:
    return _image(request, snippet_id, "poster")


@require_safe
def snippet_thumbnail(request: HttpRequest, snippet_id) -> HttpResponse:
    return _image(request, snippet_id, "thumbnail")
