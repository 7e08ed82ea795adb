"""Production serves static files from `collectstatic` with hashed names (WhiteNoise's
manifest storage); `make run` never does (DEBUG serves them from the finders), so this is
where a broken reference in a vendored file shows up before a deploy does."""

from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

MANIFEST = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
PRODUCTION_STATIC = {**settings.STORAGES, "staticfiles": MANIFEST}


def test_collectstatic_builds_the_production_manifest(tmp_path):
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=PRODUCTION_STATIC):
        call_command("collectstatic", "--noinput", verbosity=0)
    assert (tmp_path / "staticfiles.json").exists()
    hashed = list(tmp_path.glob("css/loupe.*.css"))
    assert hashed, "the stylesheet gets a hashed name"
    assert list(tmp_path.glob("vendor/chart.js-4.6.1/chart.umd.min.js.*.map"))
