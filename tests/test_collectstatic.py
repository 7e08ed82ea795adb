"""Production serves static files from `collectstatic` with hashed names (WhiteNoise's
manifest storage, config.storage); `make run` never does (DEBUG serves them from the
finders), so this is where a broken reference in a vendored file shows up before a deploy
does."""

import json
import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

# On one worker under `--dist loadgroup`: the module-scoped `collected` runs collectstatic once for all.
pytestmark = pytest.mark.xdist_group("collectstatic")

MANIFEST = {"BACKEND": "config.storage.StaticStorage"}
PRODUCTION_STATIC = {**settings.STORAGES, "staticfiles": MANIFEST}


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root, STORAGES=PRODUCTION_STATIC):
        call_command("collectstatic", "--noinput", verbosity=0)
    return root


def test_collectstatic_builds_the_production_manifest(collected):
    assert (collected / "staticfiles.json").exists()
    hashed = list(collected.glob("css/loupe.*.css"))
    assert hashed, "the stylesheet gets a hashed name"
    assert list(collected.glob("vendor/chart.js-4.6.1/chart.umd.min.js.*.map"))


def test_the_workbench_modules_import_each_other_by_hashed_name(collected):
    paths = json.loads((collected / "staticfiles.json").read_text())["paths"]
    main = (collected / paths["js/workbench/main.js"]).read_text()
    imports = re.findall(r'from "(\./[^"]+)"', main)

    assert "./dom.js" not in imports
    assert f"./{paths['js/workbench/dom.js'].rsplit('/', 1)[1]}" in imports
    for name in imports:
        assert (collected / "js" / "workbench" / name).exists(), name
