"""The associate's work home. Claiming and the task screens are in `annotator.views.task`,
the supervisor's console in `annotator.views.supervise`."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotator.selectors.queues import queue_summaries, work_queues
from annotator.selectors.work import associate_today
from catalog.gates import associate_or_supervisor_required


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
    }
    return render(request, template, context)
