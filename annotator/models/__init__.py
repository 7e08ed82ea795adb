"""The annotator's models, by topic: the work (queues, tasks, slots, annotations), media,
labels and datasets, workforce quality, and operations. Import them from here."""

from annotator.models.labels import CORRECTING_VERDICTS, Dataset, DatasetItem, Label
from annotator.models.media import MediaView, Snippet
from annotator.models.operations import QueueDepthSample, WorkerBeat
from annotator.models.quality import AssociatePause, GoldScore, GoldTask
from annotator.models.work import Annotation, Queue, QueueMembership, Rejection, Slot, Task, TaskExclusion

__all__ = [
    "CORRECTING_VERDICTS",
    "Annotation",
    "AssociatePause",
    "Dataset",
    "DatasetItem",
    "GoldScore",
    "GoldTask",
    "Label",
    "MediaView",
    "Queue",
    "QueueDepthSample",
    "QueueMembership",
    "Rejection",
    "Slot",
    "Snippet",
    "Task",
    "TaskExclusion",
    "WorkerBeat",
]
