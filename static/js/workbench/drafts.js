// Drafts: the work done on a screen so far, kept in localStorage under the task and its lease
// token, so that a reload or a Leave (and coming back while the lease lives) loses nothing.
// Restored when the screen mounts; cleared when the task is submitted or skipped. A screen
// offers draft() / restoreDraft(saved) / dirty(); the snippet screen's are its product, read
// off its controls here, and its boxes, tracks and action as its undo history snapshots them.
import { $, $$ } from "./dom.js";

const PREFIX = "loupe:draft:";
const MAX_AGE_MS = 12 * 3600_000; // a lease never lives this long: older drafts are litter

const keyOf = (root) => `${PREFIX}${root.dataset.task}:${root.dataset.token}`;

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: no drafts, nothing else changes
  }
}

export function saveDraft(screen, root) {
  const store = storage();
  if (!store || !screen || screen.lost || !root.dataset.token || !screen.draft) return;
  try {
    if (screen.dirty && !screen.dirty()) store.removeItem(keyOf(root));
    else store.setItem(keyOf(root), JSON.stringify({ at: Date.now(), draft: screen.draft() }));
  } catch {
    /* full: the draft is a convenience */
  }
}

export function clearDraft(root) {
  const store = storage();
  if (store && root) store.removeItem(keyOf(root));
}

// Put back what was kept for this task and lease; true if there was something.
export function restoreDraft(screen, root) {
  const store = storage();
  if (!store || !screen.restoreDraft) return false;
  for (let i = store.length - 1; i >= 0; i--) {
    const key = store.key(i);
    if (key && key.startsWith(PREFIX) && key !== keyOf(root)) {
      try {
        if (Date.now() - JSON.parse(store.getItem(key)).at > MAX_AGE_MS) store.removeItem(key);
      } catch {
        store.removeItem(key);
      }
    }
  }
  let saved = null;
  try {
    saved = JSON.parse(store.getItem(keyOf(root)) || "null");
  } catch {
    saved = null;
  }
  if (!saved || !saved.draft) return false;
  screen.restoreDraft(saved.draft);
  return true;
}

// The snippet screen's draft, read off its controls: the action pressed and the product shown.
export function withSnippetDraft(screen, root) {
  if (screen.draft) return screen;
  const product = $("#wb-product", root);
  const initialSku = product ? product.dataset.sku || "" : "";
  const action = () => $$("[data-act=set-action][aria-pressed=true]", root)[0]?.dataset.value || null;
  const click = (el) => el && el.dispatchEvent(new MouseEvent("click", { bubbles: true }));
  screen.draft = () => ({
    shapes: screen.snapshot ? screen.snapshot() : null,
    action: action(),
    product: product && { sku: product.dataset.sku || "", name: $(".pname", product)?.textContent || "", image: $("img", product)?.getAttribute("src") || "" },
  });
  screen.dirty = () =>
    !!action() || (product && (product.dataset.sku || "") !== initialSku) || !!(screen.edited && screen.edited());
  screen.restoreDraft = (saved) => {
    if (saved.product && saved.product.sku && saved.product.sku !== initialSku) {
      // The screen picks products from buttons that carry them: lend it one for a moment.
      const picker = Object.assign(document.createElement("button"), { type: "button", hidden: true });
      Object.assign(picker.dataset, { act: "pick", sku: saved.product.sku, name: saved.product.name, image: saved.product.image || "" });
      root.append(picker);
      click(picker);
      picker.remove();
    }
    if (saved.shapes && screen.restoreSnapshot) screen.restoreSnapshot(saved.shapes);
    else if (saved.action) click($(`[data-act=set-action][data-value="${CSS.escape(saved.action)}"]`, root));
  };
  return screen;
}
