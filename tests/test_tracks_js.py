"""The workbench's track rule (static/js/workbench/tracks.js) against the shared cases
(tests/annotator/track_cases.json), which the Python rule (annotator.tracks.expand) is tested
on too: one rule in two languages, fed the same cases.

Runs `node` on a tiny ES-module harness; skipped only where node is not installed."""

import json
from pathlib import Path

import pytest

from tests.node import WORKBENCH_JS, run_harness

# On one worker under `--dist loadgroup`: the module-scoped `js_results` runs node once for all.
pytestmark = pytest.mark.xdist_group("tracks_js")

ROOT = Path(__file__).resolve().parent.parent
TRACKS_JS = WORKBENCH_JS / "tracks.js"
CASES = ROOT / "tests" / "annotator" / "track_cases.json"

# Imported from a data: URL so that it loads as an ES module whatever the Node version's rule
# for a .js file outside a package with "type": "module" (as tests/test_cart_js.py does).
HARNESS = """
import { readFileSync } from "node:fs";
const [modulePath, casesPath] = process.argv.slice(-2);
const source = readFileSync(modulePath, "utf8");
const { expand } = await import("data:text/javascript," + encodeURIComponent(source));
const cases = JSON.parse(readFileSync(casesPath, "utf8"));
const results = cases.map((c) => {
  const boxes = expand({ keyframes: c.keyframes }, c.frame_count);
  return { name: c.name, boxes: Object.fromEntries(Object.entries(boxes).map(([f, b]) => [f, [b.x, b.y, b.w, b.h]])) };
});
process.stdout.write(JSON.stringify(results));
"""

TRACK_CASES = json.loads(CASES.read_text())


@pytest.fixture(scope="module")
def js_results() -> dict[str, dict]:
    return {result["name"]: result for result in run_harness(HARNESS, TRACKS_JS, CASES)}


@pytest.mark.parametrize("case", TRACK_CASES, ids=[case["name"] for case in TRACK_CASES])
def test_the_javascript_rule_expands_each_case_as_the_python_rule_does(case, js_results):
    assert js_results[case["name"]]["boxes"] == case["boxes"]
