// Undo / redo for a screen, by snapshots. The screen says how to take a snapshot of what an
// associate edits (`capture`, a string, so that two snapshots compare with ===) and how to
// put one back (`restore`), and calls `commit()` after every change it makes. A commit that
// finds the snapshot unchanged (a selection, a click that moved nothing) records nothing, so
// one drag, one key press or one verdict is one step back. Pure: no DOM.

export function createHistory({ capture, restore, limit = 500 }) {
  const undos = [];
  const redos = [];
  let present = capture();
  let restoring = false;

  function commit() {
    if (restoring) return;
    const now = capture();
    if (now === present) return;
    undos.push(present);
    if (undos.length > limit) undos.shift();
    redos.length = 0;
    present = now;
  }

  function move(from, to) {
    commit(); // a change the screen has not committed yet is not lost
    if (!from.length) return false;
    to.push(present);
    present = from.pop();
    restoring = true;
    try {
      restore(present);
    } finally {
      restoring = false;
    }
    return true;
  }

  return {
    commit,
    undo: () => move(undos, redos),
    redo: () => move(redos, undos),
    get canUndo() {
      return undos.length > 0;
    },
    get canRedo() {
      return redos.length > 0;
    },
  };
}
