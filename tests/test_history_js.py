"""The workbench's undo / redo (static/js/workbench/history.js) on its own, in node: a commit
that changed nothing is no step, redo is lost on a new edit, restore never records.

Skipped only where node is not installed."""

from tests.node import WORKBENCH_JS, run_harness

HISTORY_JS = WORKBENCH_JS / "history.js"

HARNESS = """
import { readFileSync } from "node:fs";
const source = readFileSync(process.argv.at(-1), "utf8");
const { createHistory } = await import("data:text/javascript," + encodeURIComponent(source));
let value = 0;
const seen = [];
const history = createHistory({
  capture: () => String(value),
  restore: (text) => { value = Number(text); history.commit(); },  // a screen redrawing commits
});
const step = (v) => { value = v; history.commit(); };
step(1); step(1); step(2); step(3);
history.undo(); seen.push(value);           // 2
history.undo(); seen.push(value);           // 1
history.redo(); seen.push(value);           // 2
step(7);                                     // a new edit: 3 cannot come back
seen.push(history.redo(), value);            // false, 7
history.undo(); history.undo(); history.undo(); seen.push(value, history.undo(), history.canRedo);  // 0, false, true
value = 5;                                   // a change not committed yet is kept by undo
history.undo(); seen.push(value);            // 0 (still the first state), then redo reaches 5
while (history.redo()); seen.push(value);
process.stdout.write(JSON.stringify(seen));
"""


def test_history_steps_back_and_forth_by_committed_changes_only():
    assert run_harness(HARNESS, HISTORY_JS) == [
        2,
        1,
        2,
        False,
        7,
        0,
        False,
        True,
        0,
        5,
    ]
