"""Redaction of an uploaded snippet, on the `redaction` worker (API.md, "Shopper privacy").

The upload request (`annotator.services.snippets.snippet_ingest`) checks and probes the clip,
puts the upload's bytes in the holding place (`HOLDING_PREFIX` in the media storage: no URL
serves it, the row's `file` stays empty), sealed (AES-256-GCM under a key derived from
SECRET_KEY and the snippet's id, so the storage never holds a pixel of the unredacted clip
in the clear, and a held file cannot be swapped for another snippet's), and answers
`redacting`. `snippet_redact` then claims
the snippet (a conditional UPDATE taking a lease, as dataset builds do), fetches the held
upload into a private temporary directory, obscures the requested regions and every face
(`annotator.redaction`), stores the redacted clip, poster and thumbnail, and in one
transaction fenced on its attempt marks the snippet `ready` and makes its tasks claimable;
the held upload is deleted after that commit. A clip that cannot be redacted (corrupt after
all, over SNIPPET_REDACT_TIMEOUT_S) is `failed` with its reason, its tasks cancelled and the
held upload deleted. An attempt whose worker died keeps the snippet `redacting` only until its
lease runs out: `snippets_recover` queues it again, and after SNIPPET_REDACT_ATTEMPTS attempts
fails it the same way.
"""

import contextlib
import datetime as dt
import logging
import os
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from annotator import tasks
from annotator.media import VideoInfo, make_poster, probe_video
from annotator.models import Snippet, Task
from annotator.redaction import Region, redact_video
from annotator.services.queues import tasks_cancel_waiting, tasks_open_waiting
from annotator.snippet_kind import SNIPPET_ANNOTATION
from infra.errors import LoupeError

logger = logging.getLogger(__name__)

# Where uploads wait for their redaction: a prefix of the media storage that no URL serves
# (the media views serve only `Snippet.file`, `poster` and `thumbnail`; with S3 the bucket is
# private and Loupe streams every object itself).
HOLDING_PREFIX = "holding/snippets/"
_CHUNK = 1024 * 1024


_NONCE_BYTES = 12
_TAG_BYTES = 16


def _holding_key(snippet_id: uuid.UUID) -> bytes:
    info = f"loupe.holding:{snippet_id}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(settings.SECRET_KEY.encode())


def seal(snippet_id: uuid.UUID, source: BinaryIO, out: BinaryIO) -> None:
    """Write `source` to `out` as nonce + AES-256-GCM ciphertext + tag, under the snippet's key."""
    nonce = os.urandom(_NONCE_BYTES)
    encryptor = Cipher(algorithms.AES(_holding_key(snippet_id)), modes.GCM(nonce)).encryptor()
    out.write(nonce)
    for chunk in iter(lambda: source.read(_CHUNK), b""):
        out.write(encryptor.update(chunk))
    out.write(encryptor.finalize())
    out.write(encryptor.tag)


def unseal(snippet_id: uuid.UUID, sealed: BinaryIO, out: BinaryIO) -> None:
    """The inverse of `seal`; LoupeError `invalid_video` when the held file is not what was
    sealed for this snippet (damaged, truncated, or another snippet's)."""
    nonce = sealed.read(_NONCE_BYTES)
    if len(nonce) != _NONCE_BYTES:
        raise LoupeError("The held upload is damaged.", code="invalid_video")
    decryptor = Cipher(algorithms.AES(_holding_key(snippet_id)), modes.GCM(nonce)).decryptor()
    tail = b""
    for chunk in iter(lambda: sealed.read(_CHUNK), b""):
        buffered = tail + chunk
        tail = buffered[-_TAG_BYTES:]
        out.write(decryptor.update(buffered[:-_TAG_BYTES]))
    try:
        if len(tail) != _TAG_BYTES:
            raise InvalidTag
        decryptor.finalize_with_tag(tail)
    except InvalidTag:
        raise LoupeError("The held upload is damaged.", code="invalid_video") from None


def snippet_hold(*, snippet_id: uuid.UUID, container: str, path: Path) -> str:
    """Put the upload at `path` in the holding place, sealed; returns its storage name."""
    with path.open("rb") as f, tempfile.NamedTemporaryFile(prefix="loupe-hold-") as sealed:
        seal(snippet_id, f, sealed)
        sealed.seek(0)
        return default_storage.save(f"{HOLDING_PREFIX}{snippet_id}.{container}", File(sealed))


def media_files_write(snippet_id: uuid.UUID, container: str, video: Path, poster: bytes, thumbnail: bytes) -> dict:
    """Write the clip and its images under generated names; the client's filename is never used."""
    day = timezone.now().strftime("%Y/%m/%d")
    names: dict[str, str] = {}
    try:
        with video.open("rb") as f:
            names["file"] = default_storage.save(f"snippets/{day}/{snippet_id}.{container}", File(f))
        names["poster"] = default_storage.save(f"snippets/posters/{day}/{snippet_id}.jpg", ContentFile(poster))
        names["thumbnail"] = default_storage.save(f"snippets/thumbs/{day}/{snippet_id}.jpg", ContentFile(thumbnail))
    except BaseException:
        media_files_delete(names.values())
        raise
    return names


def media_files_delete(names: Iterable[str]) -> None:
    for name in names:
        if not name:
            continue
        # Best effort: the error that got us here matters more (a held upload left behind
        # is never served; a bucket lifecycle rule on HOLDING_PREFIX is the backstop).
        with contextlib.suppress(OSError):
            default_storage.delete(name)


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.SNIPPET_REDACT_LEASE_S)


def _stalled(now: dt.datetime) -> Q:
    """Redactions whose worker died: their lease ran out (a queued one has no lease yet)."""
    return Q(status=Snippet.Status.REDACTING, media_purged_at__isnull=True, redacting_until__lt=now)


def _requested(snippet: Snippet) -> list[Region]:
    return [
        Region(r["frames"][0], r["frames"][1], *r["box"], "request")
        for r in snippet.redactions
        if r.get("source") == "request"
    ]


def _upload_info(snippet: Snippet) -> VideoInfo:
    """What the upload request's probe found (the row holds it until the redaction is done)."""
    return VideoInfo(
        container=snippet.container,
        codec=snippet.codec,
        duration_s=snippet.duration_s,
        fps=snippet.fps,
        width=snippet.width,
        height=snippet.height,
        frame_count=snippet.frame_count,
    )


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, LoupeError) else f"{type(exc).__name__}: {exc}"


def snippet_redact(*, snippet_id: uuid.UUID | str) -> Snippet | None:
    """Redact a `redacting` snippet (the worker calls this). Claims it first (queued, or its
    last attempt's lease run out → attempts + 1, a new lease; one conditional UPDATE), so a
    duplicate run finds nothing to do. Holds no transaction while decoding and encoding; the
    final write is fenced on the attempt, and an attempt fenced out (taken over, or the media
    purged meanwhile) deletes what it wrote and leaves the row alone."""
    now = timezone.now()
    claimed = (
        Snippet.objects.filter(pk=snippet_id, status=Snippet.Status.REDACTING, media_purged_at__isnull=True)
        .filter(Q(redacting_until__isnull=True) | Q(redacting_until__lt=now))
        .update(redacting_until=now + _lease(), redaction_attempts=F("redaction_attempts") + 1)
    )
    snippet = Snippet.objects.filter(pk=snippet_id).first()
    if not claimed or snippet is None:
        return snippet
    mine = Snippet.objects.filter(
        pk=snippet.pk,
        status=Snippet.Status.REDACTING,
        media_purged_at__isnull=True,
        redaction_attempts=snippet.redaction_attempts,
    )
    written: dict[str, str] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="loupe-redact-") as tmp:
            source, target = Path(tmp) / f"upload.{snippet.container}", Path(tmp) / "redacted.mp4"
            with default_storage.open(snippet.holding, "rb") as held, source.open("wb") as out:
                unseal(snippet.pk, held, out)
            applied = redact_video(
                source=source, target=target, info=_upload_info(snippet), regions=_requested(snippet)
            )
            source.unlink()  # the upload's bytes are not needed past this point
            info = probe_video(target)
            poster, thumbnail = make_poster(target)
            written = media_files_write(snippet.pk, info.container, target, poster, thumbnail)
            size = target.stat().st_size
    except LoupeError as exc:  # not a clip that can be redacted: trying again changes nothing
        media_files_delete(written.values())
        logger.warning("snippet %s: redaction failed: %s", snippet.pk, exc)
        return _fail(mine, snippet, _reason(exc))
    except Exception as exc:
        media_files_delete(written.values())
        logger.exception("snippet %s: redaction attempt %s failed", snippet.pk, snippet.redaction_attempts)
        if snippet.redaction_attempts >= settings.SNIPPET_REDACT_ATTEMPTS:
            return _fail(mine, snippet, _reason(exc))
        # Worth another attempt (storage or database trouble): the lease ends now, so the
        # next `snippets_recover` round queues it again.
        mine.update(redacting_until=timezone.now())
        return Snippet.objects.filter(pk=snippet.pk).first()
    with transaction.atomic():
        done = mine.update(
            status=Snippet.Status.READY,
            file=written["file"],
            poster=written["poster"],
            thumbnail=written["thumbnail"],
            size_bytes=size,
            container=info.container,
            codec=info.codec,
            duration_s=info.duration_s,
            fps=info.fps,
            width=info.width,
            height=info.height,
            frame_count=info.frame_count,
            redactions=[region.as_json() for region in applied],
            holding="",
            redacting_until=None,
        )
        if done:
            _refresh_payloads(snippet, info)
            tasks_open_waiting(snippet=snippet)
    # Past the commit (the worker runs in autocommit): the row no longer names the upload.
    if done:
        media_files_delete([snippet.holding])
    else:
        logger.warning("snippet %s: redaction attempt %s lost its claim", snippet.pk, snippet.redaction_attempts)
        media_files_delete(written.values())
    return Snippet.objects.filter(pk=snippet.pk).first()


def _refresh_payloads(snippet: Snippet, info: VideoInfo) -> None:
    """The waiting tasks' payloads describe the stored clip (the re-encode may round its
    duration or rate differently from the upload's)."""
    fields = {
        "width": info.width,
        "height": info.height,
        "fps": info.fps,
        "frame_count": info.frame_count,
        "duration_s": info.duration_s,
    }
    for task in Task.objects.filter(snippets=snippet, status=Task.Status.WAITING, kind=SNIPPET_ANNOTATION):
        if any(task.payload.get(key) != value for key, value in fields.items()):
            task.payload = {**task.payload, **fields}
            task.save(update_fields=["payload"])


def _fail(mine, snippet: Snippet, reason: str) -> Snippet | None:
    with transaction.atomic():
        failed = mine.update(
            status=Snippet.Status.FAILED, failure=reason[:2000], holding="", redacting_until=None, redactions=[]
        )
        if failed:
            tasks_cancel_waiting(snippet=snippet)
    if failed:
        media_files_delete([snippet.holding])
    return Snippet.objects.filter(pk=snippet.pk).first()


def snippets_recover() -> int:
    """Queue again every redaction whose worker died (its lease ran out), or fail it after
    SNIPPET_REDACT_ATTEMPTS attempts; returns how many were handled. django-tasks-db leaves a
    killed worker's task `RUNNING` and never runs it again, so nothing else would. Locks each
    stalled snippet row, skipping ones another process holds. Then deletes held uploads that
    no snippet names (`held_orphans_delete`)."""
    handled = _stalled_recover()
    held_orphans_delete()
    return handled


# An upload request spools, probes and holds within SNIPPET_PROBE_TIMEOUT_S or so, and commits
# its row right after; a held file older than this that no row names lost its request.
ORPHAN_AGE = dt.timedelta(hours=1)


def held_orphans_delete(*, now: dt.datetime | None = None) -> list[str]:
    """Delete held uploads that no snippet names (their upload request died between holding
    the file and committing its row) once they are ORPHAN_AGE old; returns their names."""
    now = now or timezone.now()
    try:
        _, files = default_storage.listdir(HOLDING_PREFIX.rstrip("/"))
    except (FileNotFoundError, NotImplementedError):
        return []
    names = [f"{HOLDING_PREFIX}{name}" for name in files]
    named = set(Snippet.objects.filter(holding__in=names).values_list("holding", flat=True))
    orphans = []
    for name in names:
        if name in named:
            continue
        with contextlib.suppress(OSError, NotImplementedError):
            if now - default_storage.get_modified_time(name) > ORPHAN_AGE:
                orphans.append(name)
    if orphans:
        logger.warning("deleting %s held uploads no snippet names", len(orphans))
        media_files_delete(orphans)
    return orphans


def _stalled_recover() -> int:
    handled = 0
    with transaction.atomic():
        stalled = Snippet.objects.select_for_update(skip_locked=True).filter(_stalled(timezone.now()))
        for snippet in stalled:
            handled += 1
            if snippet.redaction_attempts >= settings.SNIPPET_REDACT_ATTEMPTS:
                logger.warning("snippet %s: redaction stalled %s times; failed", snippet.pk, snippet.redaction_attempts)
                reason = f"The redaction did not finish in {snippet.redaction_attempts} attempts (the worker stopped)."
                _fail(Snippet.objects.filter(pk=snippet.pk, status=Snippet.Status.REDACTING), snippet, reason)
                continue
            logger.warning(
                "snippet %s: redaction attempt %s stalled; queued again", snippet.pk, snippet.redaction_attempts
            )
            snippet.redacting_until = None
            snippet.save(update_fields=["redacting_until"])
            tasks.snippet_redact.enqueue(str(snippet.pk))
    return handled
