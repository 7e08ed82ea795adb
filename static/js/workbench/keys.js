// The workbench's keys in one place: which key does what on each screen (the keymaps), how a
// screen's keys are read, and the page-wide listener that hands them to the mounted screen.
// A key is ignored while the associate types in a field, while a dialog is open (dialogs
// handle their own keys), and while a preview shows (see preview.js: never buffered).
import { state } from "./state.js";

const TYPING = "input, textarea, select, [contenteditable]";

// Visit validation: `a` holds the screen's actions.
export const visitKeymap = (a) => ({
  Enter: a.confirm,
  " ": a.confirm,
  x: a.reject,
  X: a.reject,
  t: () => a.setAction("take"),
  p: () => a.setAction("put_back"),
  "+": () => a.changeQuantity(1),
  "=": () => a.changeQuantity(1),
  "-": () => a.changeQuantity(-1),
  _: () => a.changeQuantity(-1),
  "/": a.search,
  m: a.missed,
  j: () => a.move(1),
  ArrowDown: () => a.move(1),
  k: () => a.move(-1),
  ArrowUp: () => a.move(-1),
  ",": () => a.step(-1),
  ".": () => a.step(1),
  "<": () => a.speed(-1),
  ">": () => a.speed(1),
});

// Snippet annotation (the box editor reads its own keys first: boxes.js handleKey).
export const snippetKeymap = (a) => ({
  Enter: a.submit,
  " ": a.play,
  t: () => a.setAction("take"),
  p: () => a.setAction("put_back"),
  n: () => a.setAction("none"),
  u: () => a.setAction("unsure"),
  b: a.switchLabel,
  "/": a.search,
  ",": () => a.step(-1),
  ".": () => a.step(1),
  "<": () => a.speed(-1),
  ">": () => a.speed(1),
  Delete: a.deleteBox,
  Backspace: a.deleteBox,
});

// One screen's key: Ctrl/Cmd+Enter submits; then `first` (the box editor) may take it; other
// modified keys are the browser's; Enter and Space on a button are its own click; 1–9 pick
// the nth candidate; the rest goes through the keymap.
export function screenKey(event, { submit, first, keymap, digit }) {
  const key = event.key;
  if (key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    return submit();
  }
  if (first && first(event)) {
    event.preventDefault();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
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

// The page-wide listener: "?" opens the help of any screen, other keys go to the screen.
export function listenForKeys({ openHelp }) {
  document.addEventListener("keydown", (event) => {
    const screen = state.screen;
    if (!screen || state.previewing || event.defaultPrevented) return;
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
