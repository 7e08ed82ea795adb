// The lease on the task on screen: heartbeats keep it alive while the page is visible (a
// hidden page lets it run out, so the task goes back to the queue); when it is lost the
// screen stops its clips and htmx swaps in the associate's next task: at once, or, when work
// was done on the lost one, once the associate has seen it and moves on.
//
// Heartbeats use fetch (net.js): a JSON call whose answer is data, not HTML to swap.
import { $, $$ } from "./dom.js";
import { clearDraft } from "./drafts.js";
import { errorOf, postJSON } from "./net.js";
import { state } from "./state.js";
import { showAlert } from "./status.js";
import { SCREEN_SWAP, reloadUnlessScreen } from "./swap.js";

const HEARTBEAT_MS = 30_000;
let heartbeatTimer = null;
let lastBeat = 0;

function showLease(text, className) {
  const lease = $("#wb-lease");
  if (!lease) return null;
  lease.textContent = text;
  lease.className = className;
  return lease;
}

export async function heartbeat() {
  const root = document.getElementById("workbench");
  if (!root || !root.dataset.urlHeartbeat || (state.screen && state.screen.lost)) return;
  lastBeat = Date.now();
  const beating = state.screen;
  try {
    const response = await postJSON(root.dataset.urlHeartbeat, { token: Number(root.dataset.token) }, { background: true });
    // Submitted meanwhile: the submit's answer, not this one, says what happened to the lease.
    if (state.previewing || state.screen !== beating) return;
    if (response.ok) {
      const data = await response.json();
      const lease = showLease("held", "lease ok");
      if (lease) lease.dataset.expires = data.lease_expires_at;
    } else if (response.status === 409 || response.status === 404) {
      leaseLost((await errorOf(response)).detail);
    }
  } catch {
    if (!state.previewing && state.screen === beating) showLease("offline?", "lease warn");
  }
}

// A heartbeat right now, outside the timer: true if the lease is ours and live again.
export async function renewLease(root) {
  try {
    return (await postJSON(root.dataset.urlHeartbeat, { token: Number(root.dataset.token) })).ok;
  } catch {
    return false;
  }
}

export function startHeartbeat() {
  stopHeartbeat();
  lastBeat = Date.now();
  heartbeatTimer = window.setInterval(() => {
    if (document.visibilityState === "visible") heartbeat();
  }, HEARTBEAT_MS);
}

export function stopHeartbeat() {
  if (heartbeatTimer) window.clearInterval(heartbeatTimer);
  heartbeatTimer = null;
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && heartbeatTimer && Date.now() - lastBeat > HEARTBEAT_MS / 3) heartbeat();
});

export function leaseLost(detail) {
  const screen = state.screen;
  if (!screen || screen.lost) return;
  screen.lost = true;
  stopHeartbeat();
  // Its media are refused from now on: stop asking for them.
  $$("#workbench video").forEach((v) => {
    v.pause();
    v.removeAttribute("src");
    v.load();
  });
  showLease("lost", "lease lost");
  const root = document.getElementById("workbench");
  if (root && screen.dirty && screen.dirty()) {
    // Work was done on it: leave it on screen as context (what was decided, to tell the
    // supervisor or to redo on the next task) until the associate moves on.
    root.classList.add("lost");
    showAlert(`${detail || "You no longer hold this task."} Nothing of it was saved; your work stays here for reference.`);
    const next = Object.assign(document.createElement("button"), { type: "button", className: "primary small", textContent: "Go to my next task" });
    next.addEventListener("click", () => {
      clearDraft(root);
      next.disabled = true;
      moveOn("You lost the previous task: a supervisor released or reassigned it, its lease ran out, or it was finished. Here is your next task.");
    });
    $("#wb-alert").append(" ", next);
    next.focus();
    return;
  }
  clearDraft(root);
  showAlert(`${detail || "You no longer hold this task."} Loading your next task…`);
  moveOn(
    "You lost the previous task: its lease ran out, a supervisor released or reassigned it, or it was finished. Nothing of it was saved. Here is your next task.",
  );
}

// Claim the next task (the claim view answers htmx with its screen) and swap it in.
async function moveOn(notice) {
  const root = document.getElementById("workbench");
  const failed = () => showAlert("Could not load the next task. Go back to your queues and press Start.");
  try {
    await window.htmx.ajax("POST", root.dataset.urlClaim, { source: root, target: root, swap: SCREEN_SWAP, select: "#workbench", values: { notice } });
  } catch {
    failed(); // unreachable server
    return;
  }
  if (root.isConnected) failed(); // htmx swaps nothing on an error answer
  else reloadUnlessScreen();
}
