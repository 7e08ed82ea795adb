"""Which tasks, queues, snippets, annotations and datasets a caller may see. Views and APIs go
through these functions, which answer 404 (never 403) for anything outside the caller's
stores, so an associate cannot even learn that another store's task exists."""

import uuid

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.db.models.functions import Now
from django.http import Http404

from annotator.models import Annotation, Dataset, Queue, Slot, Snippet, Task
from catalog import roles
from catalog.access import stores_for_user
from catalog.models import Store
from infra.text import unstorable


def uuid_or_404(value) -> uuid.UUID:
    """An object id from a URL as a UUID; 404 if it is not one."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise Http404("No such object.") from None


def tasks_for_user(user) -> QuerySet[Task]:
    return Task.objects.filter(store__in=stores_for_user(user))


def task_for_associate(user, task_id) -> Task:
    """A task of a store the user is granted, or 404."""
    try:
        return tasks_for_user(user).select_related("queue").get(pk=uuid_or_404(task_id))
    except Task.DoesNotExist:
        raise Http404("No such task.") from None


def queues_for_associate(user) -> QuerySet[Queue]:
    """Queues the user works from: member of it and granted its store (paused ones included:
    they are visible but offer nothing)."""
    return Queue.objects.filter(store__in=stores_for_user(user), queuemembership__user=user)


def queue_for_associate(user, queue_id) -> Queue:
    """A queue the user works from, or 404."""
    try:
        return queues_for_associate(user).get(pk=uuid_or_404(queue_id))
    except Queue.DoesNotExist:
        raise Http404("No such queue.") from None


def snippet_for_user(user, snippet_id) -> Snippet:
    """A snippet of a store the user is granted, or 404. Says nothing about its media:
    see `snippet_for_viewer`."""
    try:
        return Snippet.objects.select_related("store", "camera").get(
            pk=uuid_or_404(snippet_id), store__in=stores_for_user(user)
        )
    except Snippet.DoesNotExist:
        raise Http404("No such snippet.") from None


def snippet_for_viewer(user, snippet_id) -> tuple[Snippet, Task | None]:
    """A snippet whose media the user may view, and the task that grants it (None when the
    user's role does), or 404.

    Superusers, and supervisors and integrations granted the snippet's store, may view it;
    an associate only while holding a live lease (an open slot whose lease has not expired
    by the database clock) on a task the snippet is linked to through `Task.snippets`.
    """
    snippet = snippet_for_user(user, snippet_id)
    if user.is_superuser or roles.is_supervisor(user) or roles.is_integration(user):
        return snippet, None
    slot = (
        Slot.objects.filter(
            holder=user,
            state=Slot.State.OPEN,
            lease_expires_at__gt=Now(),
            task__snippets=snippet,
            task__status=Task.Status.OPEN,
        )
        .select_related("task")
        .first()
    )
    if slot is None:
        raise Http404("No such snippet.")
    return snippet, slot.task


# Supervisors: every object of the stores they are granted, nothing else (404).


def _supervised(user):
    return stores_for_user(user) if roles.is_supervisor(user) else Store.objects.none()


def queue_for_supervisor(user, queue_id) -> Queue:
    try:
        return Queue.objects.select_related("store").get(pk=uuid_or_404(queue_id), store__in=_supervised(user))
    except Queue.DoesNotExist:
        raise Http404("No such queue.") from None


def task_for_supervisor(user, task_id) -> Task:
    try:
        return Task.objects.select_related("queue__store").get(pk=uuid_or_404(task_id), store__in=_supervised(user))
    except Task.DoesNotExist:
        raise Http404("No such task.") from None


def slot_for_supervisor(user, slot_id: int) -> Slot:
    try:
        return Slot.objects.select_related("task", "holder").get(pk=slot_id, task__store__in=_supervised(user))
    except Slot.DoesNotExist:
        raise Http404("No such lease.") from None


def annotation_for_supervisor(user, annotation_id) -> Annotation:
    try:
        return Annotation.objects.select_related("task__queue__store", "associate", "slot").get(
            pk=uuid_or_404(annotation_id), task__store__in=_supervised(user)
        )
    except Annotation.DoesNotExist:
        raise Http404("No such annotation.") from None


def associate_for_supervisor(user, username: str):
    """An active associate granted at least one of the supervisor's stores, by username, or None
    (also for a name no query can carry: a NUL or a lone surrogate from a form)."""
    if unstorable(username) is not None:
        return None
    return (
        get_user_model()
        .objects.filter(
            username=username,
            is_active=True,
            groups__name=roles.ASSOCIATE,
            storeaccess__store__in=_supervised(user),
        )
        .distinct()
        .first()
    )


# Datasets: supervisors and integrations, for datasets whose every store they are granted.


def datasets_for_user(user) -> QuerySet[Dataset]:
    """Datasets whose every store the user is granted (supervisors and integrations only)."""
    if not (roles.is_supervisor(user) or roles.is_integration(user)):
        return Dataset.objects.none()
    if user.is_superuser:
        return Dataset.objects.all()
    foreign = Store.objects.exclude(pk__in=stores_for_user(user).values("pk"))
    return Dataset.objects.exclude(stores__in=foreign)


def dataset_for_user(user, dataset_id) -> Dataset:
    """A dataset the user may see, or 404."""
    try:
        key = dataset_id if isinstance(dataset_id, uuid.UUID) else uuid.UUID(str(dataset_id))
        return datasets_for_user(user).get(pk=key)
    except (ValueError, Dataset.DoesNotExist):
        raise Http404("No such dataset.") from None
