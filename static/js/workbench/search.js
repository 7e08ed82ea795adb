// The product search dialog both screens open with "/": htmx serves the type-ahead results
// (hx-get on its input, see _search_dialog.html); this module opens the dialog for one
// purpose, moves through the results with the arrows and hands the picked product back.
// The products the model predicted or considered for the item (`prefer`; by default every
// product the screen offers as a candidate) come first in the results.
import { $, $$, productOf } from "./dom.js";

let onPick = null;
let prefer = [];

export function openSearch(label, pick, preferSkus = null) {
  const dialog = $("#wb-search");
  if (!dialog) return;
  onPick = pick;
  prefer = preferSkus || [$("#wb-product"), ...$$("#workbench button.cand")].map((el) => el && el.dataset.sku).filter(Boolean);
  $("#wb-search-for").textContent = label;
  const input = $("#wb-search-q");
  input.value = "";
  const hint = Object.assign(document.createElement("li"), { className: "empty", textContent: "Type a name or SKU." });
  hint.setAttribute("role", "option"); // a listbox holds options only: this one, disabled, says why it is empty
  hint.setAttribute("aria-disabled", "true");
  hint.setAttribute("aria-selected", "false");
  $("#wb-search-results").replaceChildren(hint);
  dialog.showModal();
  input.focus();
}

const options = () => $$("#wb-search-results .pick");
const activeIndex = () => options().findIndex((o) => o.classList.contains("active"));

function activate(index) {
  const all = options();
  all.forEach((o, i) => {
    o.classList.toggle("active", i === index);
    o.setAttribute("aria-selected", String(i === index));
  });
  if (all[index]) {
    all[index].scrollIntoView({ block: "nearest" });
    $("#wb-search-q").setAttribute("aria-activedescendant", all[index].id);
  }
}

function pick(button) {
  const product = productOf(button);
  $("#wb-search").close();
  if (onPick) onPick(product);
}

document.addEventListener("keydown", (event) => {
  if (event.target.id !== "wb-search-q") return;
  const all = options();
  const index = activeIndex();
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    if (!all.length) return;
    const step = event.key === "ArrowDown" ? 1 : -1;
    activate((index + step + all.length) % all.length);
  } else if (event.key === "Enter") {
    event.preventDefault();
    if (all.length) pick(all[Math.max(index, 0)]);
  } else if (event.key === "Escape") {
    // One Escape closes, as the hint says (a search field's own first Escape only empties it).
    event.preventDefault();
    $("#wb-search").close();
  }
});

// After the settle, not the swap: the options' ids are positional (wb-result-1, ...), so htmx's
// settle step gives each new option the old one's class at the swap and its own ("pick") again
// a moment later, which took the highlight off the first result whenever more typing came.
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.target && event.target.id === "wb-search-results") activate(0);
});

document.addEventListener("click", (event) => {
  const button = event.target.closest("#wb-search-results .pick");
  if (button) pick(button);
});

// A type-ahead still waiting out its delay when the dialog closed (Escape, then a quick
// submit) is not sent: its task may be gone by then, and nobody would see its answer.
document.addEventListener("htmx:beforeRequest", (event) => {
  const dialog = $("#wb-search");
  if (event.target && event.target.id === "wb-search-q" && dialog && !dialog.open) event.preventDefault();
});

document.addEventListener("htmx:configRequest", (event) => {
  if (event.target && event.target.id === "wb-search-q" && prefer.length) event.detail.parameters.prefer = [...new Set(prefer)].slice(0, 20).join(",");
});

// A type-ahead already in flight when the task is submitted or given back (Enter picked a
// result, then a quick Ctrl+Enter) would be answered after the task is gone (404). Aborting
// it makes htmx log console errors (htmx:sendAbort), so the submit and the skip wait for it
// instead (`searchSettled`, a few milliseconds): no request outlives the task it belongs to.
let searching = null; // { done: Promise, settle } while a type-ahead is in flight
const fromSearch = (event) => event.target && (event.target.id === "wb-search-q" || event.target.id === "wb-search-results");

document.addEventListener("htmx:beforeSend", (event) => {
  if (!fromSearch(event)) return;
  let settle;
  const done = new Promise((resolve) => (settle = resolve));
  searching = { done, settle };
});

document.addEventListener("htmx:afterRequest", (event) => {
  if (!fromSearch(event) || !searching) return;
  searching.settle();
  searching = null;
});

// Resolves once no type-ahead is in flight (at most `ms` later, should its answer never come).
export function searchSettled(ms = 3_000) {
  if (!searching) return Promise.resolve();
  return Promise.race([searching.done, new Promise((resolve) => window.setTimeout(resolve, ms))]);
}
