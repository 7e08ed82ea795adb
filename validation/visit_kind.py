"""The `visit_validation` task kind, registered with the annotator's registry."""

from typing import Any

from annotator import kinds

VISIT_VALIDATION = "visit_validation"


def validate_result(task, result: Any) -> dict:
    # TODO(queue engine): the result schema from API.md.
    return result


def on_submit(task, annotation) -> None:
    pass


def register() -> None:
    kinds.register(
        kinds.TaskKind(
            name=VISIT_VALIDATION,
            label="Visit validation",
            validate_result=validate_result,
            on_submit=on_submit,
            template="validation/visit_task.html",
        )
    )
