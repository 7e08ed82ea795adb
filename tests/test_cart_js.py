"""The visit screen's live cart (static/js/workbench/cart.js) against the shared cart cases
(tests/validation/cart_cases.json), which the Python rule (validation.services.review
.cart_quantities) is tested on too: one rule in two languages, fed the same cases.

Runs `node` on a tiny ES-module harness; skipped only where node is not installed."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CART_JS = ROOT / "static" / "js" / "workbench" / "cart.js"
CASES = ROOT / "tests" / "validation" / "cart_cases.json"

# cart.js is imported from a data: URL so that it loads as an ES module whatever the Node
# version's rule for a .js file outside a package with "type": "module".
HARNESS = """
import { readFileSync } from "node:fs";
const [cartPath, casesPath] = process.argv.slice(-2);
const source = readFileSync(cartPath, "utf8");
const { cartLines } = await import("data:text/javascript," + encodeURIComponent(source));
// One side of the lines as the Python rule answers: {sku: quantity}, skus above zero only.
const quantities = (lines, side) => Object.fromEntries(lines.filter((l) => l[side] > 0).map((l) => [l.sku, l[side]]));
const cases = JSON.parse(readFileSync(casesPath, "utf8"));
const results = cases.map((c) => {
  const lines = cartLines({ events: c.events, verdicts: c.verdicts, missed: c.missed });
  return { name: c.name, predicted: quantities(lines, "predicted"), after: quantities(lines, "after") };
});
process.stdout.write(JSON.stringify(results));
"""

CART_CASES = json.loads(CASES.read_text())


@pytest.fixture(scope="module")
def js_results() -> dict[str, dict]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JavaScript cart cannot be run here")
    run = subprocess.run(
        [node, "--input-type=module", "-e", HARNESS, str(CART_JS), str(CASES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return {result["name"]: result for result in json.loads(run.stdout)}


def test_the_cases_file_names_each_case_once():
    names = [case["name"] for case in CART_CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CART_CASES, ids=[case["name"] for case in CART_CASES])
def test_the_javascript_cart_nets_each_case_as_the_python_rule_does(case, js_results):
    result = js_results[case["name"]]
    assert result["predicted"] == case["predicted"]
    assert result["after"] == case["after"]
