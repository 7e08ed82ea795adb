"""The visit screen's live cart (static/js/workbench/cart.js) against the shared cart cases
(tests/validation/cart_cases.json), which the Python rule (validation.carts.Cart) is tested on
too: one rule in two languages, fed the same cases.

Runs `node` on a tiny ES-module harness; skipped only where node is not installed."""

import json
from pathlib import Path

import pytest

from tests.node import WORKBENCH_JS, run_harness

# On one worker under `--dist loadgroup`: the module-scoped `js_results` runs node once for all.
pytestmark = pytest.mark.xdist_group("cart_js")

ROOT = Path(__file__).resolve().parent.parent
CART_JS = WORKBENCH_JS / "cart.js"
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
    return {result["name"]: result for result in run_harness(HARNESS, CART_JS, CASES)}


def test_the_cases_file_names_each_case_once():
    names = [case["name"] for case in CART_CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CART_CASES, ids=[case["name"] for case in CART_CASES])
def test_the_javascript_cart_nets_each_case_as_the_python_rule_does(case, js_results):
    result = js_results[case["name"]]
    assert result["predicted"] == case["predicted"]
    assert result["after"] == case["after"]
