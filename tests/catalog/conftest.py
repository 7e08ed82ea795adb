import pytest


@pytest.fixture
def media(settings, tmp_path):
    """A throw-away MEDIA_ROOT; returns it so tests can list what was written."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root
