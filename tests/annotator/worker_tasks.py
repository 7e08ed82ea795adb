"""A task for the worker tests: the worker process imports it by path."""

from django_tasks import task


@task()
def echo(value: str) -> str:
    return value
