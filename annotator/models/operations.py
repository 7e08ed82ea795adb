"""What the supervisor's console samples and watches: queue depth over time, worker heartbeats."""

from django.db import models

from annotator.models.work import Queue


class QueueDepthSample(models.Model):
    """A queue's depth and live leases at one moment, for the depth-over-time chart.

    Written once a minute by `manage.py queue_depth_sample --every 60` (next to the worker in
    `make run`); old samples are pruned by the same command.
    """

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="depth_samples")
    at = models.DateTimeField()
    depth = models.PositiveIntegerField()
    in_progress = models.PositiveIntegerField()

    class Meta:
        ordering = ["at"]
        indexes = [models.Index(fields=["queue", "at"], name="depthsample_queue_at")]


class WorkerBeat(models.Model):
    """A `manage.py worker` process saying it is alive: a thread of the worker writes its row
    every `WORKER_BEAT_S` seconds (one UPDATE), busy or idle. `/readyz` and the supervisor's
    console read these rows to say which queues have a live worker (seen in the last
    `WORKER_ALIVE_S` seconds). A stopped worker's row stays, so "last seen 4 min ago" can be
    said; rows not seen for a day are pruned when a worker starts."""

    worker_id = models.CharField(primary_key=True, max_length=64)
    queues = models.JSONField(default=list)  # the queue names it serves, "*" resolved
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["seen_at"], name="workerbeat_seen")]

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"
