"""Running a workbench module (static/js/workbench/) in node, for the tests that feed one rule
in two languages the same cases. Skips where node is not installed."""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

WORKBENCH_JS = Path(__file__).resolve().parent.parent / "static" / "js" / "workbench"


def run_harness(harness: str, *paths: Path) -> Any:
    """The JSON `harness` (an ES module given `paths` as its last arguments) writes to stdout.
    A harness imports its module from a data: URL, so that it loads as an ES module whatever
    the Node version's rule for a .js file outside a package with "type": "module"."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JavaScript side of this rule cannot be run here")
    run = subprocess.run(
        [node, "--input-type=module", "-e", harness, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)
