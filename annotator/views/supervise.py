"""The supervisor's console: live queues and panels, queue control, associates, review.

Every page is for supervisors (403 for anyone else signed in) and shows only their stores;
every object named in a URL or a form is found through `annotator.access.*_for_supervisor`
(404 outside their stores). Every change is a POST (CSRF) that calls a service in
`annotator.services.control` / `.review`, which records it in the audit trail, then goes
back to the page it came from (`next`, same host only). Bad input answers 400 with the
error on a small page (or as text for htmx).

An action that takes something away from a person (releasing their lease, revoking a store,
removing them from a queue) is confirmed first: the POST without `confirm=1` changes nothing
and answers a page saying what will be lost, whose form posts the same fields with
`confirm=1` (`_confirm`).
"""

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from annotator import console, kinds
from annotator.access import (
    annotation_for_supervisor,
    associate_for_supervisor,
    queue_for_supervisor,
    slot_for_supervisor,
    task_for_supervisor,
)
from annotator.control_trail import control_trail
from annotator.gold_snippet import gold_snippet_from_annotation
from annotator.models import QueueMembership, Rejection, Slot
from annotator.selectors.annotations import annotations_for_review, task_media_views
from annotator.selectors.associates import associate_figures, associates_of
from annotator.selectors.consequences import lease_release_effect, member_remove_effect, store_revoke_effect
from annotator.selectors.console import leases_held, throughput
from annotator.selectors.escalations import escalations_waiting
from annotator.selectors.quality import QUALITY_SORTS, associate_quality, quality_sorted
from annotator.selectors.queues import open_tasks_page, queue_summaries, supervised_queues
from annotator.selectors.workers import background_work
from annotator.services import control
from annotator.services.gold import associate_reinstate as associate_reinstate_service
from annotator.services.review import COMMENT_MAX
from annotator.services.review import annotation_reject as annotation_reject_service
from annotator.snippet_kind import SNIPPET_ANNOTATION
from catalog.access import store_for_user, stores_for_user
from catalog.gates import supervisor_required
from infra.errors import LoupeError

ASSOCIATE_WINDOW_DAYS = (1, 7, 30)
# The quality table shows this many associates (the API pages through all of them).
QUALITY_PAGE = 500


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) or not target.startswith("/"):
        target = default
    return redirect(target)


def _refused(request: HttpRequest, error: LoupeError) -> HttpResponse:
    status = error.status_code
    if request.htmx:
        return HttpResponse(error.detail, status=status, content_type="text/plain; charset=utf-8")
    context = {"error": error, "back": request.POST.get("next") or request.META.get("HTTP_REFERER", "/supervise/")}
    return render(request, "annotator/supervise/refused.html", context, status=status)


def _confirmed(request: HttpRequest) -> bool:
    return request.POST.get("confirm") == "1"


def _confirm(request: HttpRequest, *, title: str, consequences: list[str], verb: str, default: str) -> HttpResponse:
    """The confirm step: what the action will take away, and a form posting the same fields
    again with `confirm=1`. Nothing has changed yet."""
    fields = [(k, v) for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "confirm")]
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) or not back.startswith("/"):
        back = default
    context = {
        "title": title,
        "consequences": consequences,
        "verb": verb,
        "action": request.path,
        "fields": fields,
        "back": back,
    }
    return render(request, "annotator/supervise/confirm.html", context)


def _done(request: HttpRequest, message: str, default: str) -> HttpResponse:
    messages.success(request, message)
    return _back(request, default)


# Pages -----------------------------------------------------------------------------------


@require_GET
@supervisor_required
def console_page(request: HttpRequest) -> HttpResponse:
    """The live dashboard. htmx polls get the queues partial (the other panels poll
    `panel`)."""
    stores = stores_for_user(request.user)
    context = {
        "summaries": queue_summaries(user=request.user, queues=supervised_queues(user=request.user)),
        "leases": leases_held(stores=stores),
        "now": timezone.now(),
        "refresh_s": settings.CONSOLE_REFRESH_S,
    }
    if request.htmx:
        return render(request, "annotator/supervise.html#queues", context)
    panels = [(panel, panel.context(request.user, stores)) for panel in console.panels()]
    return render(request, "annotator/supervise.html", context | {"panels": panels})


@require_GET
@supervisor_required
def panel(request: HttpRequest) -> HttpResponse:
    """One console panel (`?name=`), rendered alone: its htmx refresh."""
    try:
        found = console.get(request.GET.get("name", ""))
    except LookupError:
        raise Http404("No such panel.") from None
    context = found.context(request.user, stores_for_user(request.user))
    return render(request, "annotator/supervise/_panel.html", {"panel": found, "data": context})


def throughput_context(user, stores) -> dict:
    return {"throughput": throughput(stores=stores)}


def adjudications_context(user, stores) -> dict:
    """Snippets whose N answers disagreed, waiting in the stores' adjudication queues."""
    return {"adjudications": escalations_waiting(stores=stores, kind=SNIPPET_ANNOTATION)}


def workers_context(user, stores) -> dict:
    return {"work": background_work(), "alive_within_s": settings.WORKER_ALIVE_S}


def register_panels() -> None:
    console.register(
        console.Panel("throughput", "Associates", "annotator/supervise/_throughput.html", throughput_context, 40)
    )
    console.register(
        console.Panel(
            "adjudications", "Adjudications", "annotator/supervise/_adjudications.html", adjudications_context, 27
        )
    )
    console.register(
        console.Panel("workers", "Background work", "annotator/supervise/_workers.html", workers_context, 45)
    )


@require_GET
@supervisor_required
def queue_page(request: HttpRequest, queue_id) -> HttpResponse:
    """One queue: its open tasks a page at a time (`?page=`; priority, reassign), its members,
    its store's recent control actions."""
    queue = queue_for_supervisor(request.user, queue_id)
    members = set(QueueMembership.objects.filter(queue=queue).values_list("user_id", flat=True))
    associates = [(user, user.pk in members) for user in associates_of(stores=[queue.store])]
    context = {
        "queue": queue,
        "tasks": open_tasks_page(queue=queue, number=request.GET.get("page")),
        "associates": associates,
        "actions": control_trail(store=queue.store),
        "now": timezone.now(),
    }
    return render(request, "annotator/supervise/queue.html", context)


@require_GET
@supervisor_required
def associates_page(request: HttpRequest) -> HttpResponse:
    try:
        days = int(request.GET.get("days", "7"))
    except ValueError:
        days = 7
    days = days if days in ASSOCIATE_WINDOW_DAYS else 7
    stores = stores_for_user(request.user)
    since = timezone.now() - dt.timedelta(days=days)
    sort = request.GET.get("sort", "")
    context = {
        "quality": quality_sorted(associate_quality(stores=stores, limit=QUALITY_PAGE, now=timezone.now()), sort),
        "sort": sort if sort in QUALITY_SORTS else "",
        "quality_sorts": QUALITY_SORTS,
        "figures": associate_figures(stores=stores, since=since),
        "days": days,
        "windows": ASSOCIATE_WINDOW_DAYS,
        "stores": list(stores),
        "annotations": annotations_for_review(stores=stores, limit=30),
    }
    return render(request, "annotator/supervise/associates.html", context)


@require_GET
@supervisor_required
def annotation_page(request: HttpRequest, annotation_id) -> HttpResponse:
    """A submitted annotation shown as its kind's workbench shows the task (through the kind's
    `review_template` and `review_context`), with the reject form."""
    annotation = annotation_for_supervisor(request.user, annotation_id)
    task = annotation.task
    kind = kinds.get(task.kind)
    context = {
        "annotation": annotation,
        "task": task,
        "kind": kind,
        "rejected": annotation.slot.state == Slot.State.CANCELLED,
        "rejection": Rejection.objects.filter(annotation=annotation).select_related("supervisor").first(),
        "comment_max": COMMENT_MAX,
        "media_views": task_media_views(task=annotation.task),
    }
    if kind.review_context is not None:
        context["review"] = kind.review_context(task, annotation, request.user)
    return render(request, "annotator/supervise/annotation.html", context)


# Control actions (POST) ------------------------------------------------------------------


def _flag(request: HttpRequest, name: str) -> bool:
    value = request.POST.get(name, "")
    if value not in ("0", "1", "true", "false"):
        raise LoupeError(f"{name} must be 1 or 0.", code="invalid", field=name)
    return value in ("1", "true")


@require_POST
@supervisor_required
def queue_pause(request: HttpRequest, queue_id) -> HttpResponse:
    queue = queue_for_supervisor(request.user, queue_id)
    try:
        paused = _flag(request, "paused")
        control.queue_pause_set(supervisor=request.user, queue=queue, paused=paused)
    except LoupeError as error:
        return _refused(request, error)
    return _done(request, f"{queue} {'paused' if paused else 'resumed'}.", "/supervise/")


@require_POST
@supervisor_required
def task_priority(request: HttpRequest, task_id) -> HttpResponse:
    task = task_for_supervisor(request.user, task_id)
    try:
        control.task_priority_set(supervisor=request.user, task_id=task.pk, priority=request.POST.get("priority"))
    except LoupeError as error:
        return _refused(request, error)
    return _done(request, "Priority changed.", f"/supervise/queues/{task.queue_id}/")


@require_POST
@supervisor_required
def lease_release(request: HttpRequest, slot_id: int) -> HttpResponse:
    slot = slot_for_supervisor(request.user, slot_id)
    if not _confirmed(request):
        return _confirm(
            request,
            title="Release this lease?",
            consequences=lease_release_effect(slot=slot),
            verb="Release the lease",
            default="/supervise/",
        )
    try:
        control.lease_release(supervisor=request.user, slot_id=slot.pk)
    except LoupeError as error:
        return _refused(request, error)
    return _done(request, "Lease released: the task is free again.", "/supervise/")


@require_POST
@supervisor_required
def task_reassign(request: HttpRequest, task_id) -> HttpResponse:
    task = task_for_supervisor(request.user, task_id)
    associate = associate_for_supervisor(request.user, request.POST.get("associate", "").strip())
    try:
        control.task_reassign(supervisor=request.user, task_id=task.pk, associate=associate)
    except LoupeError as error:
        return _refused(request, error)
    return _done(request, f"Task given to {associate.get_username()}.", f"/supervise/queues/{task.queue_id}/")


@require_POST
@supervisor_required
def queue_member(request: HttpRequest, queue_id) -> HttpResponse:
    queue = queue_for_supervisor(request.user, queue_id)
    associate = associate_for_supervisor(request.user, request.POST.get("associate", "").strip())
    try:
        member = _flag(request, "member")
        if not member and associate is not None and not _confirmed(request):
            return _confirm(
                request,
                title=f"Take {associate.get_username()} out of {queue.name}?",
                consequences=member_remove_effect(associate=associate, queue=queue),
                verb="Remove from the queue",
                default=f"/supervise/queues/{queue.pk}/",
            )
        control.queue_member_set(supervisor=request.user, queue=queue, associate=associate, member=member)
    except LoupeError as error:
        return _refused(request, error)
    return _done(request, "Membership changed.", f"/supervise/queues/{queue.pk}/")


@require_POST
@supervisor_required
def associate_store(request: HttpRequest, username: str) -> HttpResponse:
    associate = associate_for_supervisor(request.user, username)
    if associate is None:
        raise Http404("No such associate.")
    store = store_for_user(request.user, request.POST.get("store", ""))
    try:
        granted = _flag(request, "granted")
        if not granted and not _confirmed(request):
            return _confirm(
                request,
                title=f"Take {store.code} away from {username}?",
                consequences=store_revoke_effect(associate=associate, store=store),
                verb=f"Revoke {store.code}",
                default="/supervise/associates/",
            )
        control.associate_store_set(supervisor=request.user, associate=associate, store=store, granted=granted)
    except LoupeError as error:
        return _refused(request, error)
    return _done(request, f"Stores of {username} changed.", "/supervise/associates/")


@require_POST
@supervisor_required
def annotation_reject(request: HttpRequest, annotation_id) -> HttpResponse:
    annotation = annotation_for_supervisor(request.user, annotation_id)
    try:
        annotation_reject_service(
            supervisor=request.user, annotation=annotation, comment=request.POST.get("comment", "")
        )
    except LoupeError as error:
        return _refused(request, error)
    return _done(request, "Rejected: the task is back in its queue.", f"/supervise/annotations/{annotation.pk}/")


@require_POST
@supervisor_required
def associate_reinstate(request: HttpRequest, username: str) -> HttpResponse:
    """End the associate's pause in one of the supervisor's stores (`store`) or all of them;
    confirmed first (they get work again although their gold accuracy was under the floor)."""
    associate = associate_for_supervisor(request.user, username)
    if associate is None:
        raise Http404("No such associate.")
    code = request.POST.get("store", "")
    stores = [store_for_user(request.user, code)] if code else list(stores_for_user(request.user))
    if not _confirmed(request):
        return _confirm(
            request,
            title=f"Reinstate {username}?",
            consequences=[
                f"{username} gets new work again in {', '.join(s.code for s in stores)}.",
                "Their gold accuracy counts afresh from now for the automatic pause; the figures keep their history.",
            ],
            verb="Reinstate",
            default="/supervise/associates/",
        )
    try:
        associate_reinstate_service(associate=associate, stores=stores, by=request.user)
    except LoupeError as error:
        return _refused(request, error)
    return _done(request, f"{username} is reinstated.", "/supervise/associates/")


@require_POST
@supervisor_required
def gold_from_annotation(request: HttpRequest, annotation_id) -> HttpResponse:
    """A gold snippet from this annotation (its answer is the truth)."""
    annotation = annotation_for_supervisor(request.user, annotation_id)
    try:
        gold_snippet_from_annotation(annotation=annotation, by=request.user)
    except LoupeError as error:
        return _refused(request, error)
    message = "Gold snippet added: associates will be scored on it."
    return _done(request, message, f"/supervise/annotations/{annotation.pk}/")
