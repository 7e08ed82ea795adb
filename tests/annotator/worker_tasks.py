"""A task for the worker tests: the worker process imports it by path."""

from django.db import OperationalError
from django_tasks import task


@task()
def echo(value: str) -> str:
    return value


@task()
def lose_the_database() -> None:
    """As a task that a cut connection interrupts: the error reaches the worker."""
    raise OperationalError("server closed the connection unexpectedly")


@task()
def fail() -> None:
    raise ValueError("a bug of the task's own")
