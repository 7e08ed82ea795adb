"""Running the snippet redactions that uploads queued, as the `redaction` worker does."""

import contextlib
import hashlib
import io
from pathlib import Path
from unittest import mock

from django.core.management import call_command
from django_tasks_db.management.commands import db_worker

from annotator.redaction import Region, redact_video
from annotator.services import snippet_redaction
from annotator.services.snippets import SnippetIngestResult, snippet_ingest

_redacted: dict[tuple, tuple[bytes, list[Region]]] = {}


def redact_once(*, source: Path, target: Path, info, regions: list[Region]) -> list[Region]:
    """`redact_video`, run once per session (per test process) for the same upload and
    regions; later calls write the bytes and return the regions it gave the first time
    (it is deterministic)."""
    key = (hashlib.sha256(Path(source).read_bytes()).hexdigest(), repr(regions))
    if key not in _redacted:
        applied = redact_video(source=source, target=target, info=info, regions=regions)
        _redacted[key] = (Path(target).read_bytes(), applied)
    data, applied = _redacted[key]
    Path(target).write_bytes(data)
    return list(applied)


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


def ingest_redacted(*, reuse_redaction: bool = False, **kwargs) -> SnippetIngestResult:
    """`snippet_ingest`, then the redaction worker's run: the snippet as an upload-then-claim
    test expects it (ready, its media stored, its task claimable).

    `reuse_redaction`: for tests whose subject is not redaction, the face redaction itself
    (`redact_video`, ~0.4 s of CPU a clip) runs once per distinct upload and regions, and is
    replayed after that (`redact_once`); the worker's whole path (unseal, probe, store, open
    the task) still runs on every ingest. Tests of redaction leave it off."""
    patched = (
        mock.patch.object(snippet_redaction, "redact_video", redact_once)
        if reuse_redaction
        else contextlib.nullcontext()
    )
    with patched:
        result = snippet_ingest(**kwargs)
        run_redactions()
    result.snippet.refresh_from_db()
    if result.task is not None:
        result.task.refresh_from_db()
    return result
