// How a new task screen reaches the page: htmx swaps it in place of #workbench, whether it
// came from an htmx request (the claim after a lost lease) or from one of the JSON calls
// (submit, release; see net.js). htmx processes its hx-* attributes (the product search) and
// fires htmx:load on it, on which main.js mounts the screen. Settling is synchronous
// (settle:0ms): otherwise htmx would leave the old screen's attributes (its task id, its
// lease token) on the new one's elements for a moment, and the screen mounts at once.

// Settling also clones, unattached, each new element whose id the old screen has too: a media
// element with an id would load its clip a second time that way (snippet_task.html).
export const SCREEN_SWAP = "outerHTML settle:0ms";
const SWAP_SPEC = { swapStyle: "outerHTML", swapDelay: 0, settleDelay: 0 };

// An answer without a screen (the sign-in page after the session ended) reloads the page.
export function reloadUnlessScreen() {
  if (!document.getElementById("workbench")) window.location.reload();
}

export function swapScreen(html) {
  const current = document.getElementById("workbench");
  if (current) window.htmx.swap(current, html, SWAP_SPEC, { select: "#workbench" });
  reloadUnlessScreen();
}
