// Sending the associate's work: the submit, and the release (Skip…). Both answer with the
// next task's screen, which htmx swaps in (swap.js).
//
// fetch, not htmx: the submit's body is the screen's result as JSON with its submission id,
// and a lease that ran out while the page slept (and that nobody took) is renewed and the
// same submission resent, which the server stores once (idempotent on submission_id). The
// release view also takes JSON (reason and numeric token).
import { $ } from "./dom.js";
import { clearDraft } from "./drafts.js";
import { leaseLost, renewLease } from "./lease.js";
import { errorOf, postJSON } from "./net.js";
import { clipsSettled, haltClips } from "./player.js";
import { abortPrefetch, dropPreview, showPreview } from "./preview.js";
import { searchSettled } from "./search.js";
import { state } from "./state.js";
import { showAlert } from "./status.js";
import { swapScreen } from "./swap.js";

export async function submitResult(result) {
  const root = document.getElementById("workbench");
  const screen = state.screen;
  if (!screen || screen.busy) return;
  screen.busy = true;
  root.classList.add("busy");
  showAlert("");
  let shown = null;
  let resumeClips = () => {};
  // The submit failed: the screen comes back as it was, its clips loading again.
  const undo = () => {
    resumeClips();
    if (shown) shown.restore();
  };
  try {
    const body = { result, submission_id: screen.submissionId, token: Number(root.dataset.token) };
    abortPrefetch();
    await clipsSettled(root);
    resumeClips = haltClips(root);
    await searchSettled();
    const sending = postJSON(root.dataset.urlSubmit, body);
    // The submit claims and answers with the real next screen; meanwhile, the likely one.
    shown = showPreview(root);
    let response = await sending;
    let error = response.ok ? null : await errorOf(response);
    if (error && error.code === "lease_lost" && (await renewLease(root))) {
      response = await postJSON(root.dataset.urlSubmit, body);
      error = response.ok ? null : await errorOf(response);
    }
    if (response.ok) {
      clearDraft(root);
      swapScreen(await response.text());
      return;
    }
    if (response.status === 409 && error.code === "lease_lost") {
      if (shown) shown.restore();
      leaseLost(error.detail);
      return;
    }
    undo();
    showAlert(`Not saved: ${error.detail}${error.field ? ` (${error.field})` : ""}`);
  } catch {
    undo();
    showAlert("Not saved: the server could not be reached. Your work is still here; try again.");
  } finally {
    if (state.screen) state.screen.busy = false;
    root.classList.remove("busy");
  }
}

// The Skip… dialog (Skip…, or s): on "Skip task", or Enter on the reason, give the task back
// with the reason chosen. s Enter skips with the first reason.
export function openRelease() {
  const dialog = $("#wb-release");
  if (!dialog) return;
  dialog.returnValue = "";
  dialog.showModal();
  $("#wb-release-reason").focus();
  dialog.addEventListener(
    "close",
    async () => {
      if (dialog.returnValue !== "skip") return;
      const root = document.getElementById("workbench");
      dropPreview(); // the task is going: nothing more is fetched about it
      await clipsSettled(root);
      const resumeClips = haltClips(root);
      await searchSettled();
      const response = await postJSON(root.dataset.urlRelease, { reason: $("#wb-release-reason").value, token: Number(root.dataset.token) });
      if (response.ok) {
        clearDraft(root);
        swapScreen(await response.text());
      } else if (response.status === 409) leaseLost((await errorOf(response)).detail);
      else {
        resumeClips();
        showAlert((await errorOf(response)).detail);
      }
    },
    { once: true },
  );
}

document.addEventListener("keydown", (event) => {
  if (event.target.id !== "wb-release-reason" || event.key !== "Enter" || event.defaultPrevented) return;
  event.preventDefault();
  $("#wb-release").close("skip");
});
