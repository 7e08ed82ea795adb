"""Background tasks of the annotator app (queue "exports"): dataset builds."""

from django_tasks import TaskContext, task

from annotator.services import datasets


@task(queue_name="exports", takes_context=True)
def dataset_build(context: TaskContext, dataset_id: str) -> None:
    """Build one dataset; a failure is recorded on the dataset (and it can be retried)."""
    datasets.dataset_build(dataset_id=dataset_id, run_id=str(context.task_result.id))
