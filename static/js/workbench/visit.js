// The visit-validation screen: the associate walks the visit's events (the low-confidence
// ones first), confirms, rejects or corrects each, adds what the model missed, and submits
// the verdicts. This module moves between the items (visit-items.js) and acts on the current
// one; after each change it redraws the item, the live cart and the status line. Every
// verdict change can be undone and redone (history.js).
import { $, $$, productOf } from "./dom.js";
import { createHistory } from "./history.js";
import { noteOpened, noteStep, watchClips } from "./evidence.js";
import { screenKey, visitKeymap } from "./keys.js";
import { moneyFormatter } from "./money.js";
import { quiet, setSpeed, shiftSpeed, stepFrame, togglePlay } from "./player.js";
import { openSearch } from "./search.js";
import { showAlert } from "./status.js";
import { submitResult } from "./submit.js";
import { renderCart } from "./visit-cart.js";
import { cartOf, changed, drawItem, eventItems, missedItem, resultOf } from "./visit-items.js";

export function visitScreen(root) {
  const money = moneyFormatter(root.dataset.currency || "EUR");
  const items = eventItems(root);
  const everItems = items.slice(); // and each missed item once added: undo may bring it back
  // An audit measures the model's errors: every event needs a look, confident ones too.
  const audit = root.dataset.purpose === "audit";
  let current = null;
  let history = null;

  const video = (item) => (item ? $("video", item.el) : null);
  const fps = (item) => {
    const v = video(item);
    return v ? Number(v.dataset.fps || 15) : 15;
  };
  const undecided = () => items.filter((i) => i.type === "event" && (i.low || audit) && !i.decided);

  function setOpen(item, open) {
    const body = $(".ev-body", item.el);
    const head = $(".ev-head", item.el);
    item.el.classList.toggle("open", open);
    if (body) body.hidden = !open;
    if (head && head.tagName === "BUTTON") head.setAttribute("aria-expanded", String(open));
    const v = video(item);
    if (v && open && v.preload === "none") v.preload = "auto";
  }

  function setCurrent(item, { focus = true } = {}) {
    if (!item) return;
    current = item;
    for (const other of items) {
      const isCurrent = other === item;
      other.el.classList.toggle("current", isCurrent);
      const v = video(other);
      if (v && !isCurrent) v.pause();
    }
    setOpen(item, true);
    noteOpened(item);
    const v = video(item);
    if (v) quiet(v.play());
    if (focus) item.el.focus({ preventScroll: true });
    item.el.scrollIntoView({ block: "nearest" });
  }

  function render(item) {
    drawItem(item);
    drawCart();
    renderStatus();
    if (history) history.commit();
  }

  // What undo / redo keep: which items there are (the missed ones come and go) and each
  // one's verdict so far; not which one is open.
  const capture = () => JSON.stringify(items.map((i) => [everItems.indexOf(i), i.decided, i.rejected, i.cur]));

  function restore(text) {
    const before = new Map(items.map((i) => [i, JSON.stringify([i.decided, i.rejected, i.cur])]));
    const wanted = JSON.parse(text).map(([index, decided, rejected, cur]) => Object.assign(everItems[index], { decided, rejected, cur: { ...cur } }));
    for (const item of items) if (item.type === "missed" && !wanted.includes(item)) item.el.remove();
    items.splice(0, items.length, ...wanted);
    const missedList = $("#wb-missed-list", root);
    for (const item of items) if (item.type === "missed") missedList.append(item.el);
    for (const item of items) drawItem(item);
    drawCart();
    renderStatus();
    // Back to what the step changed, so the associate sees it undone.
    const touched = items.find((i) => before.get(i) !== JSON.stringify([i.decided, i.rejected, i.cur]));
    setCurrent(touched || (items.includes(current) ? current : items[0]));
  }

  function renderStatus() {
    const left = undecided().length;
    $("#wb-status", root).textContent = left
      ? `${left} event${left === 1 ? "" : "s"} left to check. Enter confirms, 1–9 picks, x rejects, u can’t tell, ? shows every key.`
      : "Every event is checked. Ctrl+Enter submits and opens the next task.";
    $("#wb-submit", root).classList.toggle("ready", !left);
  }

  const drawCart = () => renderCart(root, { ...cartOf(items), money });

  function advance() {
    const left = undecided();
    if (!left.length) {
      if (current && !current.low) setOpen(current, true);
      $("#wb-submit", root).focus();
      return;
    }
    const start = items.indexOf(current);
    const next = left.find((i) => items.indexOf(i) > start) || left[0];
    setCurrent(next);
  }

  function confirm() {
    if (!current) return;
    if (current.type === "event") {
      current.decided = true;
      current.rejected = false;
      current.unsure = false;
      render(current);
      if (current.low) setOpen(current, false);
    }
    advance();
  }

  function reject() {
    if (!current) return;
    if (current.type === "missed") {
      const index = items.indexOf(current);
      current.el.remove();
      items.splice(index, 1);
      current = null;
      drawCart();
      renderStatus();
      history.commit();
      setCurrent(items[Math.min(index, items.length - 1)]);
      return;
    }
    current.rejected = true;
    current.unsure = false;
    current.decided = true;
    render(current);
    if (current.low) setOpen(current, false);
    advance();
  }

  // "Can't tell": the visit goes to another associate (twice on one event: a supervisor).
  function unsure() {
    if (!current || current.type !== "event") return;
    if (root.dataset.escalated === "1") {
      showAlert("An escalation is decided here: confirm, correct or reject the event.");
      return;
    }
    current.unsure = true;
    current.rejected = false;
    current.decided = true;
    Object.assign(current.cur, { ...current.pred, name: current.predName, price: current.predPrice });
    render(current);
    if (current.low) setOpen(current, false);
    advance();
  }

  function step(item, direction) {
    const v = video(item);
    if (!v) return;
    stepFrame(v, fps(item), direction);
    noteStep(item);
  }

  function pick(product) {
    if (!current || !product.sku) return;
    Object.assign(current.cur, { sku: product.sku, name: product.name, price: product.price, image: product.image });
    current.rejected = false;
    render(current);
    current.el.focus({ preventScroll: true });
  }

  function setAction(action) {
    if (!current || !["take", "put_back"].includes(action)) return;
    current.cur.action = action;
    current.rejected = false;
    render(current);
  }

  function changeQuantity(delta) {
    if (!current) return;
    current.cur.quantity = Math.max(1, Math.min(1000, current.cur.quantity + delta));
    current.rejected = false;
    render(current);
  }

  function addMissed(product) {
    const item = missedItem(root, product);
    everItems.push(item);
    items.push(item);
    render(item);
    setCurrent(item);
  }

  function move(direction) {
    const index = current ? items.indexOf(current) : -1;
    const next = items[Math.max(0, Math.min(items.length - 1, index + direction))];
    if (next) setCurrent(next);
  }

  function submit() {
    const left = undecided();
    if (left.length) {
      showAlert(`${left.length} event${left.length === 1 ? " still needs" : "s still need"} your check: Enter confirms, x rejects.`);
      setCurrent(left[0]);
      return;
    }
    submitResult(resultOf(items));
  }

  function searchFor() {
    if (!current) return;
    const target = current;
    const considered = [target.pred?.sku, ...$$("button.cand", target.el).map((b) => b.dataset.sku)].filter(Boolean);
    openSearch(
      `Correct the product of ${target.type === "event" ? "this event" : "this missed item"} (now: ${target.cur.name}).`,
      (product) => {
        setCurrent(target);
        pick(product);
      },
      considered,
    );
  }

  function searchMissed() {
    openSearch("Add an item the model did not see (taken, quantity 1; adjust with t/p and +/-).", addMissed, []);
  }

  function onClick(event) {
    const button = event.target.closest("[data-act]");
    if (!button || !root.contains(button)) return;
    const item = items.find((i) => i.el === button.closest("li.ev")) || null;
    const act = button.dataset.act;
    if (item && item !== current && act !== "toggle") setCurrent(item, { focus: false });
    switch (act) {
      case "toggle": {
        const open = !item.el.classList.contains("open") || item !== current;
        if (open) setCurrent(item);
        else setOpen(item, false);
        return;
      }
      case "confirm":
        return confirm();
      case "reject":
        return reject();
      case "unsure":
        return unsure();
      case "pick":
        return pick(productOf(button));
      case "action":
        setAction(button.dataset.value);
        break;
      case "qty":
        changeQuantity(Number(button.dataset.delta));
        break;
      case "search":
        return searchFor();
      case "missed":
        return searchMissed();
      case "submit":
        return submit();
      case "step":
        step(item, Number(button.dataset.dir));
        break;
      case "play":
        togglePlay(video(item));
        break;
      case "speed":
        setSpeed(video(item), Number(button.dataset.speed), button.closest(".player-bar"));
        break;
      default:
        return;
    }
    // Back on the event, so Enter keeps confirming it rather than clicking the button again.
    if (current) current.el.focus({ preventScroll: true });
  }

  const keymap = visitKeymap({
    confirm,
    submit,
    play: () => togglePlay(video(current)),
    unsure,
    reject,
    setAction,
    changeQuantity,
    search: searchFor,
    missed: searchMissed,
    move,
    step: (direction) => step(current, direction),
    speed: (direction) => shiftSpeed(video(current), current && $(".player-bar", current.el), direction),
  });

  function digit(n) {
    const button = current && $$("button.cand", current.el)[n - 1];
    if (button) pick(productOf(button));
  }

  // What a reload or a Leave must not lose (drafts.js keeps it per task and lease).
  function draft() {
    return {
      events: items.filter((i) => i.type === "event").map((i) => ({ id: i.id, cur: i.cur, decided: i.decided, rejected: i.rejected })),
      missed: items.filter((i) => i.type === "missed").map((i) => i.cur),
    };
  }

  function restoreDraft(saved) {
    for (const kept of saved.events || []) {
      const item = items.find((i) => i.type === "event" && i.id === kept.id);
      if (item) Object.assign(item, { cur: { ...item.cur, ...kept.cur }, decided: !!kept.decided, rejected: !!kept.rejected });
    }
    for (const cur of saved.missed || []) {
      const item = missedItem(root, cur);
      Object.assign(item.cur, { action: cur.action, quantity: cur.quantity });
      items.push(item);
    }
    for (const item of items) {
      render(item);
      if (item.type === "event" && item.low && item.decided) setOpen(item, false);
    }
    setCurrent(undecided()[0] || items[0] || null);
  }

  const dirty = () => items.some((i) => i.type === "missed" || i.decided || changed(i));

  root.addEventListener("click", onClick);
  const stopWatching = watchClips(items);
  for (const item of items) render(item);
  drawCart();
  history = createHistory({ capture, restore });
  setCurrent(undecided()[0] || items[0] || null);
  if (!items.length) $("#wb-submit", root).focus();
  const undo = () => history.undo();
  const redo = () => history.redo();
  return {
    onKey: (event) => screenKey(event, { submit, keymap, digit }),
    undo,
    redo,
    draft,
    restoreDraft,
    dirty,
    resume() {
      const v = video(current);
      if (v) quiet(v.play());
    },
    destroy() {
      stopWatching();
      $$("video", root).forEach((v) => v.pause());
    },
  };
}
