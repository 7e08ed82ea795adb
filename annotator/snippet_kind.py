"""The `snippet_annotation` task kind: label what happens in one video snippet."""

from typing import Any

from annotator import kinds

SNIPPET_ANNOTATION = "snippet_annotation"


def validate_result(task, result: Any) -> dict:
    # TODO(queue engine): the result schema from API.md.
    return result


def on_submit(task, annotation) -> None:
    pass


def register() -> None:
    kinds.register(
        kinds.TaskKind(
            name=SNIPPET_ANNOTATION,
            label="Snippet annotation",
            validate_result=validate_result,
            on_submit=on_submit,
            template="annotator/snippet_task.html",
        )
    )
