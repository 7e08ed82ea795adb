"""The workbench: claim, the task screen, submit (with the next task in the same answer),
heartbeat, release, and the product type-ahead. Thin: check access, call the queue engine
(`annotator.services.work`), render the kind's template (or its `#screen` partial for htmx).

Errors of the JSON endpoints (submit, heartbeat, release) have the API's shape
`{"error": {"code", "detail", "field"?}}`, so the page can show the detail as it is.
"""

import json
import uuid

from django.contrib.messages import error, info
from django.db.models.functions import Now
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from annotator import kinds
from annotator.access import queue_for_associate, task_for_associate
from annotator.models import Annotation, Slot, Task
from annotator.selectors.queues import AT_RISK_WINDOW, sla_state
from annotator.selectors.review import task_rejection
from annotator.selectors.work import held_slot
from annotator.services.submit import task_release, task_submit
from annotator.services.work import TOKEN_MAX, AssociatePaused, Lease, task_claim, task_claim_next, task_heartbeat
from catalog.gates import associate_or_supervisor_required
from catalog.selectors import product_search as search_products
from infra.errors import LoupeError, error_body

SESSION_STARTED = "workbench_started_at"
EMPTY_TEMPLATE = "annotator/_workbench_empty.html"


def _error(exc: LoupeError) -> JsonResponse:
    return JsonResponse(error_body(exc.code, exc.detail, exc.field), status=exc.status_code)


def _json_body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deeply
        raise LoupeError("The request body is not JSON.", code="malformed_request") from None
    if not isinstance(body, dict):
        raise LoupeError("Expected a JSON object.", code="malformed_request")
    return body


def _token(body: dict) -> int | None:
    token = body.get("token")
    if token is None:
        return None
    if isinstance(token, bool) or not isinstance(token, int) or not 0 <= token <= TOKEN_MAX:
        raise LoupeError(f"token must be a whole number from 0 to {TOKEN_MAX}.", field="token")
    return token


def _position(request: HttpRequest) -> int:
    """This task's number in the associate's working session (since they pressed Start)."""
    started = request.session.get(SESSION_STARTED)
    since = {"created_at__gte": started} if started else {"created_at__date": timezone.now().date()}
    return Annotation.objects.filter(associate=request.user, **since).count() + 1


def screen_context(request: HttpRequest, task: Task, slot: Slot | None, *, notice: str = "") -> dict:
    kind = kinds.get(task.kind)
    now = timezone.now()
    context = {
        "task": task,
        "slot": slot,
        "kind": kind,
        "store": task.store,
        "payload": task.payload if isinstance(task.payload, dict) else {},
        "now": now,
        "sla_state": sla_state(task.due_at, now=now),
        "at_risk_seconds": int(AT_RISK_WINDOW.total_seconds()),
        "position": _position(request),
        "notice": notice,
        # Earlier work on this task a supervisor rejected: its comment is shown with the task.
        "rejection": task_rejection(task=task),
        "urls": {
            "task": reverse("annotator:task", args=[task.pk]),
            "submit": reverse("annotator:submit", args=[task.pk]),
            "heartbeat": reverse("annotator:heartbeat", args=[task.pk]),
            "release": reverse("annotator:release", args=[task.pk]),
            "preview": reverse("annotator:task_preview", args=[task.pk]),
            "claim": reverse("annotator:claim_queue", args=[task.queue_id]),
            "search": reverse("annotator:product_search"),
            "work": reverse("annotator:work"),
        },
    }
    if kind.context is not None:
        context |= kind.context(task, request.user)
    return context


def _render_screen(request: HttpRequest, lease: Lease | None, *, notice: str = "") -> HttpResponse:
    """The `#screen` partial of the next task's kind, or the "nothing left" partial."""
    if lease is None:
        return render(request, EMPTY_TEMPLATE, {"notice": notice, "work_url": reverse("annotator:work")})
    task = Task.objects.select_related("queue", "store").get(pk=lease.task.pk)
    slot = Slot.objects.get(pk=lease.slot_id)
    kind = kinds.get(task.kind)
    return render(request, f"{kind.template}#screen", screen_context(request, task, slot, notice=notice))


def _next_or_paused(request: HttpRequest, *, after: Task | None, queue=None) -> tuple[Lease | None, str]:
    """The next task (after a submit, a release, or the htmx claim), or None and the pause's
    words when the associate is paused in every store they could claim from."""
    try:
        return task_claim_next(associate=request.user, after=after, queue=queue), ""
    except AssociatePaused as paused:
        return None, paused.detail


@require_POST
@associate_or_supervisor_required
def claim(request: HttpRequest, queue_id=None) -> HttpResponse:
    """Lease the most urgent task (of one queue, or of all the associate's queues), or resume
    the one they hold. Plain POST (the Start button): open its page. htmx (the workbench,
    after a lost lease): answer with its screen to swap in."""
    queue = queue_for_associate(request.user, queue_id) if queue_id else None
    if not request.htmx:
        request.session[SESSION_STARTED] = timezone.now().isoformat()
        try:
            lease = task_claim(associate=request.user, queue=queue)
        except AssociatePaused as paused:
            error(request, paused.detail)
            return redirect("annotator:work")
        if lease is None:
            info(request, "Nothing is waiting for you there right now.")
            return redirect("annotator:work")
        return redirect("annotator:task", task_id=lease.task.pk)
    lease, paused = _next_or_paused(request, after=None, queue=queue)
    return _render_screen(request, lease, notice=paused or request.POST.get("notice", "")[:200])


@require_GET
@associate_or_supervisor_required
def task(request: HttpRequest, task_id) -> HttpResponse:
    """The screen of a task the associate holds a live lease on; 404 for anyone else."""
    task = task_for_associate(request.user, task_id)
    slot = held_slot(associate=request.user, task=task)
    if slot is None:
        raise Http404("You do not hold this task.")
    kind = kinds.get(task.kind)
    template = f"{kind.template}#screen" if request.htmx else kind.template
    return render(request, template, screen_context(request, task, slot))


@require_POST
@associate_or_supervisor_required
def submit(request: HttpRequest, task_id) -> HttpResponse:
    """Store the result (`{"result", "submission_id", "token"?}`), then lease the next task
    and answer with its screen: one round trip from "done" to the next task on screen.
    A bad result is 400 and a lost lease 409, as JSON errors; nothing is stored then."""
    task = task_for_associate(request.user, task_id)
    try:
        body = _json_body(request)
        try:
            submission_id = uuid.UUID(str(body.get("submission_id")))
        except ValueError:
            raise LoupeError("submission_id must be a UUID.", field="submission_id") from None
        task_submit(
            associate=request.user,
            task_id=task.pk,
            result=body.get("result"),
            submission_id=submission_id,
            token=_token(body),
        )
    except LoupeError as exc:
        return _error(exc)
    lease, paused = _next_or_paused(request, after=task)
    return _render_screen(request, lease, notice=paused)


@require_POST
@associate_or_supervisor_required
def heartbeat(request: HttpRequest, task_id) -> HttpResponse:
    """Keep the lease alive while the page is open and visible; 409 `lease_lost` otherwise."""
    task = task_for_associate(request.user, task_id)
    try:
        expires_at = task_heartbeat(associate=request.user, task_id=task.pk, token=_token(_json_body(request)))
    except LoupeError as exc:
        return _error(exc)
    return JsonResponse({"lease_expires_at": expires_at.isoformat()})


@require_POST
@associate_or_supervisor_required
def release(request: HttpRequest, task_id) -> HttpResponse:
    """Give the task back (`{"reason", "token"?}`) and answer with the next task's screen."""
    task = task_for_associate(request.user, task_id)
    try:
        body = _json_body(request)
        task_release(associate=request.user, task_id=task.pk, reason=body.get("reason", ""), token=_token(body))
    except LoupeError as exc:
        return _error(exc)
    lease, paused = _next_or_paused(request, after=task)
    return _render_screen(request, lease, notice=paused or "Task skipped.")


@require_GET
@associate_or_supervisor_required
def product_search(request: HttpRequest) -> HttpResponse:
    """Type-ahead over the catalog of the store of a task the associate holds (`?task=&q=&prefer=`)."""
    task = task_for_associate(request.user, request.GET.get("task", ""))
    if not Slot.objects.filter(
        task=task, holder=request.user, state=Slot.State.OPEN, lease_expires_at__gte=Now()
    ).exists():
        raise Http404("You do not hold this task.")
    query = request.GET.get("q", "")
    # The products the model predicted or considered for the item being corrected come first.
    prefer = [sku for sku in request.GET.get("prefer", "").split(",")[:20] if sku]
    results = search_products(store_id=task.store_id, query=query, prefer_skus=prefer)
    return render(request, "annotator/_product_results.html", {"results": results, "query": query.strip()})
