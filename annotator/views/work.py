"""The associate's work home. Claiming and the task screens are in `annotator.views.task`,
the supervisor's console in `annotator.views.supervise`."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotator.selectors.queues import queue_summaries, work_queues
from annotator.selectors.review import rejections_unread
from annotator.selectors.work import associate_today
from annotator.services.gold import pause_reasons
from annotator.services.review import rejection_dismiss
from catalog.gates import associate_or_supervisor_required, associate_required


@require_GET
@associate_or_supervisor_required
def work_home(request: HttpRequest) -> HttpResponse:
    summaries = queue_summaries(user=request.user, queues=work_queues(user=request.user), for_work=True)
    # htmx polls the page every few seconds and swaps only its named region.
    template = "annotator/work_home.html#queues" if request.htmx else "annotator/work_home.html"
    context = {
        "summaries": summaries,
        "waiting": sum(s.depth for s in summaries),
        "today": associate_today(associate=request.user),
        "refresh_s": settings.WORK_REFRESH_S,
    }
    if not request.htmx:
        context["rejections"] = rejections_unread(associate=request.user)
        context["pauses"] = pause_reasons(associate=request.user)
    return render(request, template, context)


@require_POST
@associate_required
def rejection_read(request: HttpRequest, rejection_id: int) -> HttpResponse:
    """The associate dismisses a rejection of their work (404 for anyone else's). htmx: an
    empty answer that removes the notice; a plain form: back to the work home."""
    rejection_dismiss(associate=request.user, rejection_id=rejection_id)
    if request.htmx:
        return HttpResponse("")
    return redirect("annotator:work")
