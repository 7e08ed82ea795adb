"""Fixtures of the annotator tests' workbench screens (task views, next-task preview)."""

import pytest

from annotator.models import QueueMembership
from annotator.services.queues import queue_for
from tests.annotator.screens import clip_snippet


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Every annotator test writes its clips, posters and dataset files to a throw-away
    MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def queue(s001, alice, dave):
    """S001's visit-validation queue, worked by alice and dave."""
    queue = queue_for(store=s001, kind="visit_validation")
    for user in (alice, dave):
        QueueMembership.objects.get_or_create(queue=queue, user=user)
    return queue


@pytest.fixture
def snippet(s001):
    """A one-second clip of S001's camera C01."""
    return clip_snippet(s001, "clip-1", reuse_redaction=True).snippet
