"""Datasets for supervisors and ML users: the list with live progress, the create form with
a live count of matching labels, retry. Downloads go through the API's download view."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from annotator.access import dataset_for_user, datasets_for_user
from annotator.models import Dataset
from annotator.services.dataset_filters import FORMAT_KINDS, KINDS, dataset_filters_clean, dataset_labels
from annotator.services.datasets import dataset_create, dataset_retry
from catalog.access import stores_for_user
from catalog.gates import supervisor_or_integration_required
from infra.errors import LoupeError

LIST_LIMIT = 100
FINISHED = (Dataset.Status.READY, Dataset.Status.FAILED)


def _form_input(data: QueryDict) -> tuple[str, str, dict]:
    """(name, format, filters) from the form's fields, in the shape the API takes."""
    filters = {
        "stores": data.getlist("stores"),
        "kinds": data.getlist("kinds"),
        "since": data.get("since") or None,
        "until": data.get("until") or None,
        "model_version": (data.get("model_version") or "").strip() or None,
        "reviewed_only": data.get("reviewed_only") == "on",
        "agreed_only": data.get("agreed_only") == "on",
        # The form says "include unchecked confirms", so checked-only stays the default.
        "checked_only": data.get("include_unchecked") != "on",
    }
    return data.get("name", ""), data.get("format", Dataset.Format.JSONL), filters


def _page(request: HttpRequest, *, form: QueryDict | None = None, error: LoupeError | None = None, status=200):
    stores = stores_for_user(request.user).order_by("code")
    context = {
        "datasets": datasets_for_user(request.user).select_related("created_by")[:LIST_LIMIT],
        "stores": stores,
        "selected_stores": form.getlist("stores") if form else [store.code for store in stores],
        "selected_kinds": form.getlist("kinds") if form else [],
        "formats": Dataset.Format.choices,
        "kinds": KINDS,
        "format_kinds": {fmt: ", ".join(kinds) for fmt, kinds in FORMAT_KINDS.items()},
        "form": form or QueryDict(),
        "error": error,
    }
    return render(request, "annotator/datasets.html", context, status=status)


@require_GET
@supervisor_or_integration_required
def datasets(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@supervisor_or_integration_required
def dataset_new(request: HttpRequest) -> HttpResponse:
    name, format, filters = _form_input(request.POST)
    try:
        dataset = dataset_create(name=name, format=format, filters=filters, by=request.user)
    except LoupeError as error:
        return _page(request, form=request.POST, error=error, status=400)
    messages.success(request, f"Dataset “{dataset.name}” queued: {dataset.items} labels.")
    return redirect("annotator:datasets")


@require_GET
@supervisor_or_integration_required
def dataset_count(request: HttpRequest) -> HttpResponse:
    """The create form's live count of the labels its filters match."""
    _, format, filters = _form_input(request.GET)
    context: dict = {"count": None, "error": None}
    try:
        context["count"] = dataset_labels(
            filters=dataset_filters_clean(format=format, filters=filters, by=request.user)
        ).count()
    except LoupeError as error:
        context["error"] = error
    return render(request, "annotator/datasets.html#count", context)


@require_GET
@supervisor_or_integration_required
def dataset_row(request: HttpRequest, dataset_id) -> HttpResponse:
    """One dataset's row, polled while it builds; 286 (stop polling) once it is finished."""
    dataset = dataset_for_user(request.user, dataset_id)
    response = render(request, "annotator/datasets.html#row", {"dataset": dataset})
    if dataset.status in FINISHED:
        return HttpResponseStopPolling(response.content)
    return response


@require_POST
@supervisor_or_integration_required
def dataset_retry_view(request: HttpRequest, dataset_id) -> HttpResponse:
    dataset = dataset_for_user(request.user, dataset_id)
    try:
        dataset = dataset_retry(dataset=dataset, by=request.user)
    except LoupeError as error:
        if request.htmx:
            return render(request, "annotator/datasets.html#row", {"dataset": dataset}, status=409)
        messages.error(request, error.detail)
        return redirect("annotator:datasets")
    if request.htmx:
        return render(request, "annotator/datasets.html#row", {"dataset": dataset})
    messages.success(request, f"Dataset “{dataset.name}” queued again.")
    return redirect("annotator:datasets")
