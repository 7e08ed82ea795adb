// The next task's preview. So that the associate does not wait for the submit's answer, the
// page prefetches the task they will most likely get next (shortly after each screen is
// mounted, then whenever it is older than PREVIEW_STALE_MS) and shows it the moment they
// submit. A preview leases nothing and has no media: it stays dimmed and inert, its clips
// marked "loading…", until the submit's answer replaces it with the real screen (the same
// task in the common case, another one if someone took the previewed task meanwhile). Keys
// pressed while it shows are queued for the previewed task and played once its real screen
// is mounted (keys.js); if another task comes instead they are dropped, for a key meant for
// one visit must never land on another. If the submit fails, the preview goes, its keys
// with it, and the screen the associate was working on comes back as it was.
//
// fetch, not htmx: the answer is parsed and held off the page, perhaps for a minute, and may
// never be shown; htmx swaps into the page at once. The screen kept aside while the preview
// shows is put back untouched (its clips, its decisions), which no swap of HTML could do.
import { $, $$ } from "./dom.js";
import { moneyFormatter } from "./money.js";
import { state } from "./state.js";
import { tickSla } from "./status.js";

const PREVIEW_DELAY_MS = 1_000;
const PREVIEW_STALE_MS = 20_000;
const PREVIEW_MAX_AGE_MS = 60_000; // older than this (a page left hidden), show none

let preview = null; // { task: the task held when fetched, node: its parsed screen or null, at }
let previewDelay = null;
let previewTimer = null;
let inflight = null; // the prefetch under way (AbortController)

// The task id of the prefetched preview, if any (for tests and the console).
export const previewTask = () => (preview && preview.node ? preview.node.dataset.task : null);

function parseScreen(html) {
  const holder = document.createElement("template");
  holder.innerHTML = html;
  return holder.content.querySelector("#workbench");
}

// Dimmed, inert, without its (absent) clips: what shows until the real screen arrives.
function markPreview(next) {
  next.dataset.preview = "1";
  next.classList.add("busy");
  next.setAttribute("aria-busy", "true");
  next.inert = true;
  for (const video of $$("video", next)) {
    const loading = Object.assign(document.createElement("p"), { className: "no-clip muted wb-loading", textContent: "loading…" });
    (video.closest(".player") || video).replaceWith(loading);
  }
  // The cart's amounts come in minor units; the visit screen formats them once mounted.
  const money = moneyFormatter(next.dataset.currency || "EUR");
  for (const cell of $$("#wb-cart-lines td.num:last-child, #wb-total-predicted, #wb-total-now", next)) {
    if (/^-?\d+$/.test(cell.textContent.trim())) cell.textContent = money(Number(cell.textContent.trim()));
  }
  const status = $("#wb-status", next);
  if (status) status.textContent = "Loading this task… keys you type now apply once it is ready.";
  return next;
}

async function prefetch() {
  const current = state.screen;
  const head = $("#workbench .wb-head[data-url-preview]");
  if (!current || !head || current.lost || current.busy || current.prefetching || state.previewing) return;
  current.prefetching = true;
  try {
    inflight = new AbortController();
    const response = await fetch(head.dataset.urlPreview, { credentials: "same-origin", headers: { Accept: "text/html" }, signal: inflight.signal });
    const next = response.status === 200 ? parseScreen(await response.text()) : null;
    if (state.screen === current) preview = { task: current.task, node: next && next.dataset.task ? markPreview(next) : null, at: Date.now() };
  } catch {
    /* offline, or aborted: the submit still brings the next task, only not at once */
  } finally {
    current.prefetching = false;
    inflight = null;
  }
}

// The task this prefetch asks about is being submitted or given back: a prefetch still under
// way is dropped, so that no request outlives the task it belongs to (its answer, once the
// lease is gone, would be a 404 nobody needs).
export function abortPrefetch() {
  if (inflight) inflight.abort();
  inflight = null;
}

// From a newly mounted screen on: a first preview soon, then fresh ones while visible.
export function schedulePreview() {
  stopPreview();
  previewDelay = window.setTimeout(prefetch, PREVIEW_DELAY_MS);
  previewTimer = window.setInterval(() => {
    if (document.visibilityState === "visible") prefetch();
  }, PREVIEW_STALE_MS);
}

function stopPreview() {
  if (previewDelay) window.clearTimeout(previewDelay);
  if (previewTimer) window.clearInterval(previewTimer);
  previewDelay = previewTimer = null;
}

// A screen goes: its preview (of what follows it) goes too.
export function dropPreview() {
  stopPreview();
  abortPrefetch();
  preview = null;
  state.previewing = false;
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && previewTimer && (!preview || Date.now() - preview.at > PREVIEW_STALE_MS)) prefetch();
});

// Put the preview in place of `root` (kept aside, untouched); returns how to undo it, or
// null when there is no fresh preview of what follows this screen's task.
export function showPreview(root) {
  if (!preview || !preview.node || preview.task !== state.screen.task || Date.now() - preview.at > PREVIEW_MAX_AGE_MS) return null;
  const next = document.importNode(preview.node, true);
  const focused = document.activeElement;
  const scrolled = window.scrollY;
  root.replaceWith(next);
  state.previewing = true;
  const first = $("#wb-items > li.ev.low", next) || $("#wb-items > li.ev", next);
  if (first) first.scrollIntoView({ block: "nearest" });
  tickSla();
  return {
    restore() {
      state.previewing = false;
      state.queuedKeys = null; // meant for the next task, which is not coming
      if (!next.isConnected) return;
      next.replaceWith(root);
      window.scrollTo(0, scrolled);
      if (focused && root.contains(focused)) focused.focus({ preventScroll: true });
      if (state.screen && state.screen.resume) state.screen.resume(); // taking it out of the page paused its clip
      tickSla();
    },
  };
}
