"""A synthetic clip taken in through the real intake, for the workbench screen tests."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from annotator.synth import make_clip
from tests.annotator.redacting import ingest_redacted

CLIP = make_clip(seconds=1, fps=10, seed=5)


def clip_snippet(store, external_id: str, **options):
    """A one-second synthetic clip of `store`'s camera C01, taken in (`snippet_ingest`);
    `options` go to `ingest_redacted` (e.g. `reuse_redaction=True`)."""
    return ingest_redacted(
        store=store,
        camera=store.cameras.get(code="C01"),
        external_id=external_id,
        started_at=timezone.now(),
        upload=SimpleUploadedFile("clip.mp4", CLIP.data),
        **options,
    )
