"""Running the snippet redactions that uploads queued, as the `redaction` worker does."""

import io
from unittest import mock

from django.core.management import call_command
from django_tasks_db.management.commands import db_worker

from annotator.services.snippets import SnippetIngestResult, snippet_ingest


def run_redactions() -> str:
    """Run the real django-tasks-db worker on the redaction queue until nothing is ready.

    In process, inside the test's transaction: the worker's `close_old_connections` would
    close that connection (it is not in autocommit), so it is switched off here.
    """
    out = io.StringIO()
    with mock.patch.object(db_worker, "close_old_connections", lambda: None):
        call_command(
            "db_worker",
            "--batch",
            "--queue-name",
            "redaction",
            "--interval",
            "0",
            "--no-startup-delay",
            "--no-reload",
            "--verbosity",
            "0",
            stdout=out,
            stderr=out,
        )
    return out.getvalue()


def ingest_redacted(**kwargs) -> SnippetIngestResult:
    """`snippet_ingest`, then the redaction worker's run: the snippet as an upload-then-claim
    test expects it (ready, its media stored, its task claimable)."""
    result = snippet_ingest(**kwargs)
    run_redactions()
    result.snippet.refresh_from_db()
    if result.task is not None:
        result.task.refresh_from_db()
    return result
