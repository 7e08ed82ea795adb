"""Workers' heartbeats: each `manage.py worker` process says it is alive (`WorkerBeat`)."""

import datetime as dt

from django.utils import timezone

from annotator.models import WorkerBeat

# A worker not seen for this long is forgotten (pruned when another worker starts).
FORGET_AFTER = dt.timedelta(days=1)


def worker_beat(
    *,
    worker_id: str,
    queues: list[str],
    hostname: str,
    pid: int,
    started_at: dt.datetime,
    now: dt.datetime | None = None,
) -> None:
    """Record that this worker is alive now. One UPDATE of the worker's own row (nobody else
    writes it); its first beat creates the row and prunes workers forgotten for a day."""
    now = now or timezone.now()
    if WorkerBeat.objects.filter(pk=worker_id).update(seen_at=now, queues=queues):
        return
    WorkerBeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()
    WorkerBeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"queues": queues, "hostname": hostname[:255], "pid": pid, "started_at": started_at, "seen_at": now},
    )
