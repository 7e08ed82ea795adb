"""The workbench's undo / redo (static/js/workbench/history.js) on its own, in node: a commit
that changed nothing is no step, redo is lost on a new edit, restore never records.

Skipped only where node is not installed."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

HISTORY_JS = Path(__file__).resolve().parent.parent / "static" / "js" / "workbench" / "history.js"

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
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    run = subprocess.run(
        [node, "--input-type=module", "-e", HARNESS, str(HISTORY_JS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == [
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
