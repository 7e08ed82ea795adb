"""Queue depth samples for the depth-over-time chart (see `QueueDepthSample`)."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from annotator.models import QueueDepthSample
from annotator.selectors.queues import queue_depths


@transaction.atomic
def queue_depth_sample(*, keep_days: int = 7) -> int:
    """Write one sample per queue (depth, live leases, now) and prune samples older than
    `keep_days`. Returns how many queues were sampled."""
    now = timezone.now()
    samples = [
        QueueDepthSample(queue=queue, at=now, depth=depth, in_progress=in_progress)
        for queue, depth, in_progress in queue_depths()
    ]
    QueueDepthSample.objects.bulk_create(samples)
    QueueDepthSample.objects.filter(at__lt=now - dt.timedelta(days=keep_days)).delete()
    return len(samples)
