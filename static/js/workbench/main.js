// The associate's workbench, keyboard first: visit validation and snippet annotation. The
// server renders each task screen (#workbench); this entry mounts the screen's controller on
// it when the page loads and whenever htmx swaps in another (swap.js), and tears the old one
// down. While a screen is mounted its lease is kept alive (lease.js), its SLA counts down
// (status.js), its work is kept as a draft (drafts.js) and the next task is prefetched
// (preview.js); keys typed on that preview are played on the screen once mounted (keys.js).
// Native ES modules, no build step, no inline code (CSP: script-src 'self').
import { $ } from "./dom.js";
import { create as createBoxEditor } from "./boxes.js";
import { restoreDraft, saveDraft, withSnippetDraft } from "./drafts.js";
import { drawHelp, listenForKeys, replayKeys } from "./keys.js";
import { heartbeat, startHeartbeat, stopHeartbeat } from "./lease.js";
import { uuid4 } from "./net.js";
import { dropPreview, previewTask, schedulePreview } from "./preview.js";
import { snippetScreen } from "./snippet.js";
import { state } from "./state.js";
import { showAlert, startSla, stopSla } from "./status.js";
import { openRelease } from "./submit.js";
import { visitScreen } from "./visit.js";

const SCREENS = { snippet_annotation: snippetScreen, visit_validation: visitScreen };

function unmount() {
  if (state.screen && state.screen.destroy) state.screen.destroy();
  state.screen = null;
  stopHeartbeat();
  dropPreview();
  stopSla();
}

function mount() {
  unmount();
  const root = document.getElementById("workbench");
  document.documentElement.dataset.workbenchTask = (root && root.dataset.task) || "";
  if (!root || !root.dataset.kind) return; // nothing left to do: the "all done" screen
  const build = SCREENS[root.dataset.kind] || visitScreen;
  const screen = build(root);
  if (root.dataset.kind === "snippet_annotation") withSnippetDraft(screen, root);
  screen.submissionId = uuid4();
  screen.task = root.dataset.task;
  state.screen = screen;
  if (restoreDraft(screen, root)) showAlert("Your unsaved work on this task is back as you left it.");
  startSla();
  startHeartbeat();
  schedulePreview();
  replayKeys(root.dataset.task, root); // typed on its preview, meant for it
  root.dispatchEvent(new CustomEvent("workbench:ready", { bubbles: true, detail: { task: root.dataset.task } }));
}

// A screen htmx swapped in (after a submit, a release, a lost lease): its address, then mount.
document.addEventListener("htmx:load", (event) => {
  const root = event.target;
  if (!(root instanceof HTMLElement) || root.id !== "workbench") return;
  if (root.dataset.urlTask) window.history.replaceState(null, "", root.dataset.urlTask);
  mount();
});

function openHelp() {
  const help = $("#wb-help");
  if (!help || help.open) return;
  drawHelp($("#wb-help-keys", help));
  help.showModal();
}

// Every key and click may change the work on screen: keep its draft (after the screen acted).
const keepDraft = () =>
  window.setTimeout(() => {
    const root = document.getElementById("workbench");
    if (state.screen && !state.previewing && root) saveDraft(state.screen, root);
  }, 0);
document.addEventListener("keydown", keepDraft);
document.addEventListener("click", keepDraft);

// Leaving (Leave, a reload, closing the tab) with work not submitted: the draft is kept, but
// the lease runs out while nobody is on the page, and the work with it. Ask first.
window.addEventListener("beforeunload", (event) => {
  const screen = state.screen;
  const root = document.getElementById("workbench");
  if (!screen || !root || screen.lost || state.previewing || !screen.dirty || !screen.dirty()) return;
  saveDraft(screen, root);
  event.preventDefault();
  event.returnValue = "";
});

listenForKeys({ openHelp });

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-act=help], [data-act=release]");
  if (!button) return;
  if (button.dataset.act === "help") openHelp();
  else openRelease();
});

// For tests and the console: the heartbeat the timer sends, the mounted screen, the id of
// the prefetched preview's task, and the box editor on its own.
window.LoupeWorkbench = {
  heartbeat,
  get screen() {
    return state.screen;
  },
  get preview() {
    return previewTask();
  },
};
window.LoupeBoxes = { create: createBoxEditor };

mount(); // modules run once the document is parsed
