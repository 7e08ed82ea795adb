// The visit screen's items: one per event of the visit, holding what the model saw (`pred`)
// and what the associate has made of it so far (`cur`, `decided`, `rejected`), plus one per
// item the model missed. What an item shows on its row, and the result and cart they add up
// to, are read from here, so that the row, the cart and the submitted result cannot disagree.
import { $, $$ } from "./dom.js";
import { evidenceOf, newEvidence } from "./evidence.js";

export function eventItems(root) {
  return $$("#wb-items > li.ev", root).map((el) => {
    const pred = { sku: el.dataset.sku, action: el.dataset.action, quantity: Number(el.dataset.quantity) };
    return {
      el,
      type: "event",
      id: el.dataset.event,
      low: el.dataset.low === "1",
      pred,
      predName: el.dataset.name,
      predPrice: Number(el.dataset.price || 0),
      cur: { ...pred, name: el.dataset.name, price: Number(el.dataset.price || 0), image: el.dataset.image },
      decided: false,
      rejected: false,
      unsure: false,
      evidence: newEvidence(),
    };
  });
}

// A missed item's row, from the screen's template, taken once.
export function missedItem(root, product) {
  const el = $("#wb-missed-tpl", root).content.firstElementChild.cloneNode(true);
  $("#wb-missed-list", root).append(el);
  const thumb = $(".thumb", el);
  if (product.image) {
    thumb.replaceWith(Object.assign(document.createElement("img"), { src: product.image, alt: "", width: 32, height: 32, className: "thumb" }));
  } else {
    thumb.textContent = (product.name || "?").slice(0, 2).toUpperCase();
  }
  return {
    el,
    type: "missed",
    cur: { sku: product.sku, name: product.name, price: product.price, image: product.image, action: "take", quantity: 1 },
    decided: true,
    rejected: false,
  };
}

export const changed = (item) =>
  item.type === "event" &&
  (item.cur.sku !== item.pred.sku || item.cur.action !== item.pred.action || item.cur.quantity !== item.pred.quantity);

const verdictOf = (item) =>
  item.unsure ? "unsure" : item.rejected ? "reject" : changed(item) ? "correct" : "confirm";

// The item's row: action, quantity, product, pressed buttons and the verdict it shows.
export function drawItem(item) {
  const el = item.el;
  const set = (field, text) => {
    const node = $(`[data-field=${field}]`, el);
    if (node) node.textContent = text;
  };
  set("action", item.cur.action === "take" ? "Take" : "Put back");
  set("qty", String(item.cur.quantity));
  set("qty-out", String(item.cur.quantity));
  set("name", item.cur.name);
  $$("[data-act=action]", el).forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.value === item.cur.action)));
  const now = $("[data-field=now]", el);
  if (now) {
    now.hidden = item.cur.sku === item.pred.sku;
    now.textContent = now.hidden ? "" : `Now: ${item.cur.name} (${item.cur.sku})`;
  }
  $$("button.cand", el).forEach((b) => b.classList.toggle("on", b.dataset.sku === item.cur.sku));
  let verdict;
  if (item.type === "missed") verdict = "missed";
  else if (item.unsure) verdict = "can't tell";
  else if (item.rejected) verdict = "rejected";
  else if (changed(item)) verdict = item.decided ? "corrected" : "changed";
  else if (item.decided) verdict = "confirmed";
  else verdict = item.low ? "to check" : "confident";
  set("verdict", verdict);
  el.dataset.verdict = verdict.replace("can't tell", "unsure").replace(" ", "-");
  el.classList.toggle("decided", item.decided);
  el.classList.toggle("rejected", item.rejected);
  el.classList.toggle("changed", changed(item));
}

// The result the submit sends: a verdict per event (events not checked yet as the model saw
// them) with what the associate did with it (evidence.js), and the missed items.
export function resultOf(items) {
  const events = items
    .filter((i) => i.type === "event")
    .map((i) => {
      const verdict = verdictOf(i);
      const out = { event: i.id, verdict, evidence: evidenceOf(i) };
      if (verdict === "correct") Object.assign(out, { sku: i.cur.sku, action: i.cur.action, quantity: i.cur.quantity });
      return out;
    });
  const missed = items.filter((i) => i.type === "missed").map((i) => ({ sku: i.cur.sku, action: i.cur.action, quantity: i.cur.quantity }));
  return { events, missed };
}

// What the cart is drawn from (see visit-cart.js): the events as the model saw them, the
// result, and each sku's name and price as first met.
export function cartOf(items) {
  const products = new Map();
  for (const i of items) {
    if (i.type === "event" && !products.has(i.pred.sku)) products.set(i.pred.sku, { name: i.predName, price: i.predPrice });
    if (!i.rejected && !products.has(i.cur.sku)) products.set(i.cur.sku, { name: i.cur.name, price: i.cur.price });
  }
  const { events: said, missed } = resultOf(items);
  // "Can't tell" leaves the model's event standing until someone decides it.
  const verdicts = said.map((v) => (v.verdict === "unsure" ? { ...v, verdict: "confirm" } : v));
  const events = items.filter((i) => i.type === "event").map((i) => ({ id: i.id, ...i.pred }));
  return { events, verdicts, missed, products };
}
