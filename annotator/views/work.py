"""The associate's work home, claiming and the task page (the supervisor's console is in
`annotator.views.supervise`)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, user_passes_test
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from annotator import kinds
from annotator.access import queue_for_associate, task_for_associate
from annotator.selectors import held_slot, queue_summaries, work_queues
from annotator.services.work import task_claim
from catalog.roles import is_associate


@require_GET
@login_required
@user_passes_test(is_associate)
def work_home(request: HttpRequest) -> HttpResponse:
    summaries = queue_summaries(user=request.user, queues=work_queues(user=request.user), for_work=True)
    return render(
        request,
        "annotator/work_home.html",
        {"summaries": summaries, "waiting": sum(s.depth for s in summaries)},
    )


@require_POST
@login_required
@user_passes_test(is_associate)
def claim(request: HttpRequest, queue_id=None) -> HttpResponse:
    """Lease the most urgent task (of one queue, or of all the associate's queues) and open it;
    an associate who already holds a lease gets that task back."""
    queue = queue_for_associate(request.user, queue_id) if queue_id else None
    lease = task_claim(associate=request.user, queue=queue)
    if lease is None:
        messages.info(request, "Nothing is waiting for you there right now.")
        return redirect("annotator:work")
    return redirect("annotator:task", task_id=lease.task.pk)


@require_GET
@login_required
@user_passes_test(is_associate)
def task(request: HttpRequest, task_id) -> HttpResponse:
    """The task the associate holds a live lease on (404 for anyone else)."""
    task = task_for_associate(request.user, task_id)
    slot = held_slot(associate=request.user, task=task)
    if slot is None:
        raise Http404("You do not hold this task.")
    payload = task.payload if isinstance(task.payload, dict) else {}
    return render(
        request,
        "annotator/task.html",
        {"task": task, "slot": slot, "kind": kinds.get(task.kind), "payload": payload, "now": timezone.now()},
    )

