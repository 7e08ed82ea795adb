"""The task-kind registry.

A kind names its result schema, its template and what happens on submit. The annotator app
registers `snippet_annotation`; the validation app registers `visit_validation` from its
AppConfig.ready(), so nothing here imports validation.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from annotator.models import Annotation, Task


@dataclass(frozen=True)
class TaskKind:
    name: str
    label: str
    # Validates a submitted result for a task; returns the cleaned result or raises
    # infra.errors.LoupeError with `field` set (400).
    validate_result: Callable[["Task", Any], dict]
    # Runs inside the submit transaction, after the annotation is stored.
    on_submit: Callable[["Task", "Annotation"], None]
    # Runs inside the submit transaction when the task has all its annotations.
    on_done: Callable[["Task"], None] | None = None
    template: str = ""
    # Extra page context for `template`: (task, user) -> dict, called for the holder of a
    # live lease (the workbench's task screen) and for the preview of the task likely to
    # follow (annotator/views/preview.py, which then blanks every media URL it returns).
    # Lets a kind load what its screen shows (products, snippets) without the annotator app
    # importing it.
    context: Callable[["Task", Any], dict] | None = None
    # The supervisor's review of one submitted annotation (annotator/views/supervise.py):
    # `review_template` is included in the review page with `review_context(task,
    # annotation, user)`, so a kind shows its answer as its workbench does (media, products,
    # model vs associate) without the annotator app knowing what a visit is.
    review_template: str = ""
    review_context: Callable[["Task", "Annotation", Any], dict] | None = None
    # What a later answer changed against a rejected one, as short sentences for the rejected
    # associate: (task, rejected result, later result) -> ["Cart: +1 Milk 1 l", ...].
    compare: Callable[["Task", dict, dict], list[str]] | None = None


_registry: dict[str, TaskKind] = {}


def register(kind: TaskKind) -> None:
    existing = _registry.get(kind.name)
    if existing is not None and existing != kind:
        raise ValueError(f"Task kind {kind.name!r} is already registered.")
    _registry[kind.name] = kind


def get(name: str) -> TaskKind:
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"Unknown task kind {name!r}.") from None


def names() -> list[str]:
    return sorted(_registry)
