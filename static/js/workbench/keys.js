// The workbench's keys in one place: one keymap for both screens (a key means the same on
// each; a screen without the action leaves the key alone), the help dialog drawn from it,
// and the page-wide listener that hands keys to the mounted screen. A key is ignored while
// the associate types in a field and while a dialog is open (dialogs handle their own keys).
// Keys pressed while the next task's preview shows are queued and played on that task once
// it is mounted (preview.js, main.js); if another task comes instead, they are dropped.
import { $ } from "./dom.js";
import { state } from "./state.js";
import { showAlert } from "./status.js";
import { openRelease } from "./submit.js";

const TYPING = "input, textarea, select, [contenteditable]";

// Each entry: the keys, the help line, and what it calls on the screen's actions `a`
// (`has` says whether the screen has the action; the help lists only those it has).
// `editor: true` lines are read by the box editor itself (boxes.js); listed for the help.
const call = (name, ...args) => ({ run: (a) => a[name](...args), has: (a) => typeof a[name] === "function" });
// Undo and redo are the screen controller's own (when it has them), listed once it does.
const screenCall = (name) => ({ run: () => state.screen?.[name]?.(), has: () => typeof state.screen?.[name] === "function" });

export const KEYMAP = [
  { section: "Review" },
  { keys: ["Enter"], help: "Confirm the current event and go to the next one", ...call("confirm") },
  { keys: ["x", "X"], help: "Did not happen (reject); on a missed item, remove it", ...call("reject") },
  { keys: ["1–9"], help: "Pick the model's 1st…9th guess (best first)", digit: true, has: () => true },
  { keys: ["/"], help: "Search the store's products", ...call("search") },
  { keys: ["t"], help: "Action: take", ...call("setAction", "take") },
  { keys: ["p"], help: "Action: put back", ...call("setAction", "put_back") },
  { keys: ["n"], help: "Action: none", ...call("none") },
  { keys: ["u"], help: "Unsure", ...call("unsure") },
  { keys: ["+", "="], help: "Quantity up", ...call("changeQuantity", 1) },
  { keys: ["-", "_"], help: "Quantity down", ...call("changeQuantity", -1) },
  { keys: ["m"], help: "Add an item the model missed", ...call("missed") },
  { keys: ["j", "ArrowDown"], help: "Next event (opens collapsed ones)", ...call("move", 1) },
  { keys: ["k", "ArrowUp"], help: "Previous event", ...call("move", -1) },
  { section: "Clip" },
  { keys: [" "], help: "Play / pause", ...call("play") },
  { keys: [","], help: "Frame back", ...call("step", -1) },
  { keys: ["."], help: "Frame forward", ...call("step", 1) },
  { keys: ["<"], help: "Slower", ...call("speed", -1) },
  { keys: [">"], help: "Faster", ...call("speed", 1) },
  { section: "Boxes" },
  { keys: ["b"], help: "Draw hand or product boxes", ...call("switchLabel") },
  { keys: ["Mouse"], help: "Drag on the video to draw; drag a box to move it; drag a corner to resize", editor: true },
  { keys: ["a"], help: "Add a box (of the label being drawn) in the middle of the frame", editor: true },
  { keys: ["[", "]"], help: "Select the previous / next box on this frame; Esc clears the selection", editor: true },
  { keys: ["←↑→↓"], help: "Move the selected box one pixel of the clip; with Shift ten", editor: true },
  { keys: ["Alt+←↑→↓"], help: "Resize the selected box from its bottom-right corner; with Shift ten", editor: true },
  { keys: ["Delete", "Backspace"], help: "Delete the selected box", ...call("deleteBox") },
  { section: "Tracks and zoom" },
  { keys: ["r"], help: "New boxes are tracks (followed across frames) or single boxes", editor: true },
  { keys: ["Tracks"], help: "Adjust a track's box on another frame: a keyframe; frames between are interpolated (dashed)", editor: true },
  { keys: ["f"], help: "Copy the selected box to the next frame (a track: a keyframe there)", editor: true },
  { keys: ["o"], help: "The selected track ends on this frame (outside)", editor: true },
  { keys: ["Shift+Delete"], help: "Delete the selected track whole (Delete alone: its keyframe on this frame)", editor: true },
  { keys: ["z", "Z", "0"], help: "Zoom in / out / fit (or the wheel); Ctrl+drag or the middle button pans", editor: true },
  { section: "Task" },
  { keys: ["Ctrl+z"], help: "Undo", ...screenCall("undo") },
  { keys: ["Ctrl+Shift+z", "Ctrl+y"], help: "Redo", ...screenCall("redo") },
  { keys: ["Ctrl+Enter"], help: "Submit the task and open the next one", ...call("submit") },
  { keys: ["s"], help: "Skip the task (then Enter)", run: () => openRelease(), has: () => true },
  { keys: ["?"], help: "Show this list (Esc closes it)", has: () => true },
];

const LABELS = { " ": "Space", ArrowDown: "↓", ArrowUp: "↑", Delete: "Del", Backspace: "⌫" };

// The keys of the screen mounted last, for its help dialog.
let shown = { actions: {}, editor: false };

// key → function, for one screen's actions. Plain keys only; chords are read in screenKey.
function build(actions, { editor }) {
  shown = { actions, editor };
  const map = {};
  for (const entry of KEYMAP) {
    if (!entry.keys || !entry.run || entry.digit || !entry.has(actions)) continue;
    for (const key of entry.keys) if (!key.includes("+") || key.length === 1) map[key] = () => entry.run(actions);
  }
  return map;
}

// The two screens' keymaps: the same table, each with its own actions.
export const visitKeymap = (a) => build(a, { editor: false });
export const snippetKeymap = (a) => build({ none: () => a.setAction("none"), unsure: () => a.setAction("unsure"), ...a }, { editor: true });

// The help dialog's list, drawn from KEYMAP for the screen on show: it cannot drift.
export function drawHelp(list) {
  const { actions, editor } = shown;
  const rows = [];
  let section = null;
  for (const entry of KEYMAP) {
    if (entry.section) {
      section = entry.section;
      continue;
    }
    const applies = entry.editor ? editor : entry.has(actions);
    if (!applies) continue;
    if (section) {
      const title = Object.assign(document.createElement("dt"), { className: "section", textContent: section });
      rows.push(title, document.createElement("dd"));
      section = null;
    }
    const dt = document.createElement("dt");
    entry.keys.forEach((key, i) => {
      if (i) dt.append(" / ");
      key.split(/\+(?=.)/).forEach((part, j) => {
        if (j) dt.append("+");
        dt.append(Object.assign(document.createElement("kbd"), { textContent: LABELS[part] || part }));
      });
    });
    rows.push(dt, Object.assign(document.createElement("dd"), { textContent: entry.help }));
  }
  list.replaceChildren(...rows);
}

// One screen's key: Ctrl/Cmd+Enter submits, Ctrl+Z undoes and Ctrl+Shift+Z (Ctrl+Y) redoes;
// then `first` (the box editor) may take it; other modified keys are the browser's; Enter
// and Space on a button are its own click; 1–9 pick the nth candidate; the rest goes
// through the keymap.
export function screenKey(event, { submit, first, keymap, digit }) {
  const key = event.key;
  const chord = event.ctrlKey || event.metaKey;
  if (key === "Enter" && chord) {
    event.preventDefault();
    return submit();
  }
  if (first && first(event)) {
    event.preventDefault();
    return;
  }
  if (chord && !event.altKey && (key === "z" || key === "Z" || key === "y")) {
    event.preventDefault();
    const redo = key === "y" || event.shiftKey;
    return redo ? state.screen?.redo?.() : state.screen?.undo?.();
  }
  if (chord || event.altKey) return;
  const onButton = event.target.closest("button, a, summary");
  if ((key === "Enter" || key === " ") && onButton) return;
  if (/^[1-9]$/.test(key)) {
    event.preventDefault();
    digit(Number(key));
    return;
  }
  if (keymap[key]) {
    event.preventDefault();
    keymap[key]();
  }
}

// Keys pressed on the preview of a task, to play once that task is mounted (state.queuedKeys).
const keyOf = (e) => ({ key: e.key, code: e.code, ctrlKey: e.ctrlKey, metaKey: e.metaKey, shiftKey: e.shiftKey, altKey: e.altKey });

function queueKey(event) {
  const task = $("#workbench")?.dataset.task || null;
  if (!task || event.key === "?" || ["Shift", "Control", "Alt", "Meta", "Tab"].includes(event.key)) return;
  event.preventDefault();
  if (!state.queuedKeys || state.queuedKeys.task !== task) state.queuedKeys = { task, keys: [] };
  state.queuedKeys.keys.push(keyOf(event));
}

// The screen of `task` is mounted: play the keys meant for it, in order; keys meant for
// another task (the preview showed one that someone else took) are dropped, and said so.
export function replayKeys(task, root) {
  const { task: meant, keys } = state.queuedKeys || { task: null, keys: [] };
  state.queuedKeys = null;
  if (!keys.length) return;
  if (meant !== task) {
    showAlert(`${keys.length} key${keys.length === 1 ? " was" : "s were"} not applied: they were meant for a task someone else took.`);
    return;
  }
  for (const k of keys) {
    const screen = state.screen;
    if (!screen || screen.lost || screen.busy || state.previewing) break;
    if (document.querySelector("dialog[open]")) break; // "/" opened the search: the rest was typing
    const focused = document.activeElement;
    const target = focused instanceof HTMLElement && root.contains(focused) ? focused : root;
    screen.onKey({ ...k, target, defaultPrevented: false, preventDefault() {}, stopPropagation() {} });
  }
}

// The page-wide listener: "?" opens the help of any screen, other keys go to the screen.
export function listenForKeys({ openHelp }) {
  document.addEventListener("keydown", (event) => {
    const screen = state.screen;
    if (!screen || event.defaultPrevented) return;
    if (state.previewing) {
      queueKey(event);
      return;
    }
    if (document.querySelector("dialog[open]")) return;
    if (event.target instanceof HTMLElement && event.target.closest(TYPING)) return;
    if (event.key === "?") {
      event.preventDefault();
      openHelp();
      return;
    }
    if (!screen.lost && !screen.busy) screen.onKey(event);
  });
}
