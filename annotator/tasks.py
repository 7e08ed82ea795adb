"""Background tasks of the annotator app: dataset builds (queue "exports") and snippet
redaction (queue "redaction"), each on workers of their own (README "Workers")."""

from django_tasks import TaskContext, task

from annotator.services import datasets, snippet_redaction


@task(queue_name="exports", takes_context=True)
def dataset_build(context: TaskContext, dataset_id: str) -> None:
    """Build one dataset; a failure is recorded on the dataset (and it can be retried)."""
    datasets.dataset_build(dataset_id=dataset_id, run_id=str(context.task_result.id))


@task(queue_name="redaction")
def snippet_redact(snippet_id: str) -> None:
    """Redact one uploaded snippet; a failure is recorded on the snippet (`failed`)."""
    snippet_redaction.snippet_redact(snippet_id=snippet_id)
