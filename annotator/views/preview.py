"""The preview of the task an associate will most likely get next. The workbench fetches it
while they work and shows it the moment they submit, while the submit (which claims the real
next task and answers with its screen) is still in flight.

Leases nothing and locks nothing (`task_lookahead`): another associate may take the task
first, and the page then shows whichever task the submit claimed. The preview is the kind's
task screen without what only a lease holder gets: no media URLs, no lease token, no URLs
to act on the task.
"""

import dataclasses

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from annotator import kinds
from annotator.access import task_for_associate
from annotator.models import Task
from annotator.selectors.work import held_slot, task_lookahead
from annotator.views.task import screen_context
from catalog.gates import associate_or_supervisor_required

# Names under which the kinds' screens carry lease-checked media (fields of the visit
# screen's snippets, keys of the snippet screen's context). Blanked, the templates render
# `src=""` and `poster=""`, which a browser never fetches.
MEDIA_FIELDS = frozenset({"video_url", "poster_url"})


def without_media(value):
    """`value` (a screen context, or anything in it) with every media URL blanked."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = [f.name for f in dataclasses.fields(value) if f.init]
        return dataclasses.replace(value, **{name: _blanked(name, getattr(value, name)) for name in names})
    if isinstance(value, dict):
        return {key: _blanked(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_media(item) for item in value]
    return value


def _blanked(name, value):
    return "" if name in MEDIA_FIELDS else without_media(value)


@require_GET
@associate_or_supervisor_required
def task_preview(request: HttpRequest, task_id) -> HttpResponse:
    """The `#screen` partial, in preview mode, of the task most likely to follow `task_id`,
    which the associate holds; 204 when nothing would follow, 404 for a task they do not hold.
    Chosen as the submit claims: from the held task's queue first, then from any of theirs."""
    held = task_for_associate(request.user, task_id)
    if held_slot(associate=request.user, task=held) is None:
        raise Http404("You do not hold this task.")
    previews = task_lookahead(associate=request.user, queue=held.queue) or task_lookahead(associate=request.user)
    if not previews:
        return HttpResponse(status=204)
    task = Task.objects.select_related("queue", "store").get(pk=previews[0]["id"])
    task.payload = previews[0]["payload"]  # the selector's copy, without media URLs
    context = without_media(screen_context(request, task, None))
    context |= {
        "preview": True,
        # The submit has not counted the held task yet: the previewed one comes after it.
        "position": context["position"] + 1,
        "urls": {"work": reverse("annotator:work")},
    }
    return render(request, f"{kinds.get(task.kind).template}#screen", context)
