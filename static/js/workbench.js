// The associate's workbench: visit validation and snippet annotation, keyboard first.
// Plain script, no build step, no inline code (CSP: script-src 'self'). The server renders
// each task screen (#workbench); this file binds keys and mouse to it, keeps the lease alive
// while the page is visible, submits the result and swaps in the next task's screen, which
// comes back in the same answer as the submit.
//
// So that the associate does not wait for that answer, the page prefetches a preview of the
// task they will most likely get next (shortly after each screen is ready, then whenever it
// is older than PREVIEW_STALE_MS) and shows it the moment they submit. A preview leases
// nothing and has no media: it stays dimmed and inert, its clips marked "loading…", until
// the submit's answer replaces it with the real screen (the same task in the common case,
// another one if someone took the previewed task meanwhile). Keys pressed while the preview
// shows are dropped, not buffered: the real screen may be another task, and a key meant for
// one visit must never land on another. If the submit fails, the preview goes and the
// screen the associate was working on comes back as it was, with the error.
"use strict";

(() => {
  const HEARTBEAT_MS = 30_000;
  const PREVIEW_DELAY_MS = 1_000;
  const PREVIEW_STALE_MS = 20_000;
  const PREVIEW_MAX_AGE_MS = 60_000; // older than this (a page left hidden), show none
  const TYPING = "input, textarea, select, [contenteditable]";
  let screen = null; // the controller of the screen on the page
  let heartbeatTimer = null;
  let slaTimer = null;
  let lastBeat = 0;
  let preview = null; // { task: the task held when fetched, node: its parsed screen or null, at }
  let previewDelay = null;
  let previewTimer = null;
  let previewing = false; // a preview is on screen, the submit still in flight

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch {
      return "";
    }
  }

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": csrfToken(),
        "HX-Request": "true",
        Accept: "text/html, application/json",
      },
      body: JSON.stringify(body || {}),
    });
  }

  async function errorOf(response) {
    try {
      const data = await response.json();
      if (data && data.error) return data.error;
    } catch {
      /* not JSON: fall through */
    }
    if (response.status === 404) return { code: "not_found", detail: "This task is no longer yours." };
    return { code: "error", detail: `The server answered ${response.status}. Try again.` };
  }

  // ---- screen swapping -------------------------------------------------------------------

  function swap(html) {
    const holder = document.createElement("template");
    holder.innerHTML = html;
    const next = holder.content.querySelector("#workbench");
    const current = document.getElementById("workbench");
    if (!next || !current) {
      window.location.reload();
      return;
    }
    if (screen && screen.destroy) screen.destroy();
    current.replaceWith(next);
    if (window.htmx) window.htmx.process(next);
    if (next.dataset.urlTask) window.history.replaceState(null, "", next.dataset.urlTask);
    init();
  }

  async function moveOn(notice) {
    const root = document.getElementById("workbench");
    const form = new URLSearchParams({ notice });
    const response = await fetch(root.dataset.urlClaim, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded" },
      body: form,
    });
    if (response.ok) swap(await response.text());
    else showAlert("Could not load the next task. Go back to your queues and press Start.");
  }

  function leaseLost(detail) {
    if (!screen || screen.lost) return;
    screen.lost = true;
    stopHeartbeat();
    // Its media are refused from now on: stop asking for them.
    $$("#workbench video").forEach((v) => {
      v.pause();
      v.removeAttribute("src");
      v.load();
    });
    const lease = $("#wb-lease");
    if (lease) {
      lease.textContent = "lost";
      lease.className = "lease lost";
    }
    showAlert(`${detail || "You no longer hold this task."} Loading your next task…`);
    moveOn(
      "You lost the previous task: its lease ran out, a supervisor released or reassigned it, or it was finished. Nothing of it was saved. Here is your next task.",
    );
  }

  function showAlert(message) {
    const alert = $("#wb-alert");
    if (!alert) return;
    alert.textContent = message;
    alert.hidden = !message;
  }

  // ---- lease heartbeats (only while the page is visible) ---------------------------------

  async function heartbeat() {
    const root = document.getElementById("workbench");
    if (!root || !root.dataset.urlHeartbeat || (screen && screen.lost)) return;
    lastBeat = Date.now();
    const beating = screen;
    try {
      const response = await post(root.dataset.urlHeartbeat, { token: Number(root.dataset.token) });
      // Submitted meanwhile: the submit's answer, not this one, says what happened to the lease.
      if (previewing || screen !== beating) return;
      if (response.ok) {
        const data = await response.json();
        const lease = $("#wb-lease");
        if (lease) {
          lease.dataset.expires = data.lease_expires_at;
          lease.textContent = "held";
          lease.className = "lease ok";
        }
      } else if (response.status === 409 || response.status === 404) {
        leaseLost((await errorOf(response)).detail);
      }
    } catch {
      const lease = $("#wb-lease");
      if (lease && !previewing && screen === beating) {
        lease.textContent = "offline?";
        lease.className = "lease warn";
      }
    }
  }

  // A heartbeat right now, outside the timer: true if the lease is ours and live again.
  async function renewLease(root) {
    try {
      return (await post(root.dataset.urlHeartbeat, { token: Number(root.dataset.token) })).ok;
    } catch {
      return false;
    }
  }

  function startHeartbeat() {
    stopHeartbeat();
    lastBeat = Date.now();
    heartbeatTimer = window.setInterval(() => {
      if (document.visibilityState === "visible") heartbeat();
    }, HEARTBEAT_MS);
  }

  function stopHeartbeat() {
    if (heartbeatTimer) window.clearInterval(heartbeatTimer);
    heartbeatTimer = null;
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && heartbeatTimer && Date.now() - lastBeat > HEARTBEAT_MS / 3) heartbeat();
  });

  // ---- the next task's preview -----------------------------------------------------------

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
    if (status) status.textContent = "Loading this task… keys work again in a moment.";
    return next;
  }

  async function prefetch() {
    const current = screen;
    const head = $("#workbench .wb-head[data-url-preview]");
    if (!current || !head || current.lost || current.busy || current.prefetching || previewing) return;
    current.prefetching = true;
    try {
      const response = await fetch(head.dataset.urlPreview, { credentials: "same-origin", headers: { Accept: "text/html" } });
      const next = response.status === 200 ? parseScreen(await response.text()) : null;
      if (screen === current) preview = { task: current.task, node: next && next.dataset.task ? markPreview(next) : null, at: Date.now() };
    } catch {
      /* offline: the submit still brings the next task, only not at once */
    } finally {
      current.prefetching = false;
    }
  }

  function schedulePreview() {
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

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && previewTimer && (!preview || Date.now() - preview.at > PREVIEW_STALE_MS)) prefetch();
  });

  // Put the preview in place of `root` (kept aside, untouched); returns how to undo it, or
  // null when there is no fresh preview of what follows this screen's task.
  function showPreview(root) {
    if (!preview || !preview.node || preview.task !== screen.task || Date.now() - preview.at > PREVIEW_MAX_AGE_MS) return null;
    const next = document.importNode(preview.node, true);
    const focused = document.activeElement;
    const scrolled = window.scrollY;
    root.replaceWith(next);
    previewing = true;
    const first = $("#wb-items > li.ev.low", next) || $("#wb-items > li.ev", next);
    if (first) first.scrollIntoView({ block: "nearest" });
    tickSla();
    return {
      restore() {
        previewing = false;
        if (!next.isConnected) return;
        next.replaceWith(root);
        window.scrollTo(0, scrolled);
        if (focused && root.contains(focused)) focused.focus({ preventScroll: true });
        if (screen && screen.resume) screen.resume(); // taking it out of the page paused its clip
        tickSla();
      },
    };
  }

  // ---- SLA countdown ---------------------------------------------------------------------

  function clock(seconds) {
    const s = Math.floor(Math.abs(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const pad = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
  }

  function tickSla() {
    const sla = $("#wb-sla");
    if (!sla) return;
    const left = (Date.parse(sla.dataset.due) - Date.now()) / 1000;
    const atRisk = Number(sla.dataset.atRisk || 300);
    sla.textContent = left >= 0 ? `${clock(left)} left` : `breached ${clock(left)} ago`;
    sla.className = `sla ${left < 0 ? "breached" : left <= atRisk ? "at-risk" : "ok"}`;
  }

  // ---- dialogs: help, product search, skip -----------------------------------------------

  function openHelp() {
    const help = $("#wb-help");
    if (help && !help.open) help.showModal();
  }

  const search = {
    onPick: null,
    open(label, onPick) {
      const dialog = $("#wb-search");
      if (!dialog) return;
      this.onPick = onPick;
      $("#wb-search-for").textContent = label;
      const input = $("#wb-search-q");
      input.value = "";
      $("#wb-search-results").replaceChildren(Object.assign(document.createElement("li"), { className: "empty", textContent: "Type a name or SKU." }));
      dialog.showModal();
      input.focus();
    },
    options: () => $$("#wb-search-results button.pick"),
    activate(index) {
      const options = this.options();
      options.forEach((o, i) => {
        o.classList.toggle("active", i === index);
        o.parentElement.setAttribute("aria-selected", String(i === index));
      });
      if (options[index]) {
        options[index].scrollIntoView({ block: "nearest" });
        $("#wb-search-q").setAttribute("aria-activedescendant", options[index].parentElement.id);
      }
    },
    activeIndex() {
      return this.options().findIndex((o) => o.classList.contains("active"));
    },
    pick(button) {
      const product = productOf(button);
      $("#wb-search").close();
      if (this.onPick) this.onPick(product);
    },
  };

  function productOf(el) {
    return { sku: el.dataset.sku, name: el.dataset.name, price: Number(el.dataset.price || 0), image: el.dataset.image || "" };
  }

  document.addEventListener("keydown", (event) => {
    if (event.target.id !== "wb-search-q") return;
    const options = search.options();
    const index = search.activeIndex();
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!options.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      search.activate((index + step + options.length) % options.length);
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (options.length) search.pick(options[Math.max(index, 0)]);
    } else if (event.key === "Escape") {
      // One Escape closes, as the hint says (a search field's own first Escape only empties it).
      event.preventDefault();
      $("#wb-search").close();
    }
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.target && event.target.id === "wb-search-results") search.activate(0);
  });

  document.addEventListener("click", (event) => {
    const pick = event.target.closest("#wb-search-results button.pick");
    if (pick) search.pick(pick);
  });

  function openRelease() {
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
        const response = await post(root.dataset.urlRelease, { reason: $("#wb-release-reason").value, token: Number(root.dataset.token) });
        if (response.ok) swap(await response.text());
        else if (response.status === 409) leaseLost((await errorOf(response)).detail);
        else showAlert((await errorOf(response)).detail);
      },
      { once: true },
    );
  }

  // ---- submitting ------------------------------------------------------------------------

  async function submitResult(result) {
    const root = document.getElementById("workbench");
    if (!screen || screen.busy) return;
    screen.busy = true;
    root.classList.add("busy");
    showAlert("");
    let shown = null;
    try {
      const body = { result, submission_id: screen.submissionId, token: Number(root.dataset.token) };
      const sending = post(root.dataset.urlSubmit, body);
      // The submit claims and answers with the real next screen; meanwhile, the likely one.
      shown = showPreview(root);
      let response = await sending;
      let error = response.ok ? null : await errorOf(response);
      // A submit needs a live lease. One that ran out while the page slept, and that nobody
      // has taken, comes back with a heartbeat: renew it and send the same submission again.
      if (error && error.code === "lease_lost" && (await renewLease(root))) {
        response = await post(root.dataset.urlSubmit, body);
        error = response.ok ? null : await errorOf(response);
      }
      if (response.ok) {
        swap(await response.text());
        return;
      }
      if (shown) shown.restore();
      if (response.status === 409 && error.code === "lease_lost") {
        leaseLost(error.detail);
        return;
      }
      showAlert(`Not saved: ${error.detail}${error.field ? ` (${error.field})` : ""}`);
    } catch {
      if (shown) shown.restore();
      showAlert("Not saved: the server could not be reached. Your work is still here; try again.");
    } finally {
      if (screen) screen.busy = false;
      root.classList.remove("busy");
    }
  }

  // ---- video helpers ---------------------------------------------------------------------

  const quiet = (promise) => (promise && promise.catch ? promise.catch(() => {}) : promise);

  function stepFrame(video, fps, direction) {
    if (!video) return;
    video.pause();
    const frame = Math.floor(video.currentTime * fps + 1e-3) + direction;
    const last = video.duration && Number.isFinite(video.duration) ? Math.floor(video.duration * fps) - 1 : frame;
    video.currentTime = (Math.max(0, Math.min(frame, last)) + 0.25) / fps;
  }

  function setSpeed(video, speed, bar) {
    if (!video) return;
    video.playbackRate = speed;
    if (bar) $$("[data-act=speed]", bar).forEach((b) => b.classList.toggle("on", Number(b.dataset.speed) === speed));
  }

  function shiftSpeed(video, bar, direction) {
    const speeds = [0.5, 1, 2];
    const index = speeds.indexOf(video ? video.playbackRate : 1);
    setSpeed(video, speeds[Math.max(0, Math.min(speeds.length - 1, (index < 0 ? 1 : index) + direction))], bar);
  }

  function togglePlay(video) {
    if (!video) return;
    if (video.paused) quiet(video.play());
    else video.pause();
  }

  // A clip's Play button says what a click will do; clips also start and stop on their own.
  for (const type of ["play", "pause"]) {
    document.addEventListener(
      type,
      (event) => {
        const video = event.target;
        if (!(video instanceof HTMLVideoElement)) return;
        const button = video.closest(".ev-media, .wb-player")?.querySelector("[data-act=play]");
        if (button && button.firstChild) button.firstChild.textContent = (video.paused ? "Play" : "Pause") + (button.children.length ? " " : "");
      },
      true, // media events do not bubble
    );
  }

  // ---- money -----------------------------------------------------------------------------

  function moneyFormatter(currency) {
    try {
      const format = new Intl.NumberFormat("en", { style: "currency", currency });
      const digits = format.resolvedOptions().maximumFractionDigits;
      return (minor) => format.format(minor / 10 ** digits);
    } catch {
      return (minor) => `${(minor / 100).toFixed(2)} ${currency}`;
    }
  }

  // ---- visit validation ------------------------------------------------------------------

  function visitScreen(root) {
    const money = moneyFormatter(root.dataset.currency || "EUR");
    const items = $$("#wb-items > li.ev", root).map((el) => {
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
      };
    });
    let current = null;

    const changed = (item) =>
      item.type === "event" &&
      (item.cur.sku !== item.pred.sku || item.cur.action !== item.pred.action || item.cur.quantity !== item.pred.quantity);
    const verdictOf = (item) => (item.rejected ? "reject" : changed(item) ? "correct" : "confirm");
    const video = (item) => (item ? $("video", item.el) : null);
    const undecided = () => items.filter((i) => i.type === "event" && i.low && !i.decided);

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
      const v = video(item);
      if (v) quiet(v.play());
      if (focus) item.el.focus({ preventScroll: true });
      item.el.scrollIntoView({ block: "nearest" });
    }

    function render(item) {
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
      else if (item.rejected) verdict = "rejected";
      else if (changed(item)) verdict = item.decided ? "corrected" : "changed";
      else if (item.decided) verdict = "confirmed";
      else verdict = item.low ? "to check" : "confident";
      set("verdict", verdict);
      el.dataset.verdict = verdict.replace(" ", "-");
      el.classList.toggle("decided", item.decided);
      el.classList.toggle("rejected", item.rejected);
      el.classList.toggle("changed", changed(item));
      renderCart();
      renderStatus();
    }

    function renderStatus() {
      const status = $("#wb-status", root);
      const left = undecided().length;
      status.textContent = left
        ? `${left} event${left === 1 ? "" : "s"} left to check. Enter confirms, 1–9 picks, x rejects, ? shows every key.`
        : "Every event is checked. Ctrl+Enter submits and opens the next task.";
      $("#wb-submit", root).classList.toggle("ready", !left);
    }

    function renderCart() {
      const lines = new Map();
      const line = (sku, name, price) => {
        if (!lines.has(sku)) lines.set(sku, { sku, name, price, before: 0, after: 0 });
        return lines.get(sku);
      };
      for (const item of items) {
        const sign = (action) => (action === "take" ? 1 : -1);
        if (item.type === "event") line(item.pred.sku, item.predName, item.predPrice).before += sign(item.pred.action) * item.pred.quantity;
        if (!item.rejected) line(item.cur.sku, item.cur.name, item.cur.price).after += sign(item.cur.action) * item.cur.quantity;
      }
      const tbody = $("#wb-cart-lines", root);
      const rows = [];
      let before = 0;
      let after = 0;
      let differences = 0;
      for (const l of lines.values()) {
        const b = Math.max(0, l.before);
        const a = Math.max(0, l.after);
        if (!a && !b) continue;
        before += b * l.price;
        after += a * l.price;
        const tr = document.createElement("tr");
        tr.dataset.sku = l.sku;
        if (a !== b) {
          differences += 1;
          tr.className = a > b ? "diff added" : "diff removed";
        }
        for (const [text, cls] of [[l.name, ""], [String(b), "num"], [String(a), "num"], [money(a * l.price), "num"]]) {
          const td = document.createElement("td");
          td.textContent = text;
          if (cls) td.className = cls;
          tr.append(td);
        }
        rows.push(tr);
      }
      if (!rows.length) {
        const tr = document.createElement("tr");
        const td = Object.assign(document.createElement("td"), { colSpan: 4, className: "empty", textContent: "Empty cart" });
        tr.append(td);
        rows.push(tr);
      }
      tbody.replaceChildren(...rows);
      $("#wb-total-predicted", root).textContent = money(before);
      const total = $("#wb-total-now", root);
      total.textContent = money(after);
      total.classList.toggle("diff", before !== after);
      $("#wb-cart-diff", root).textContent = differences
        ? `${differences} line${differences === 1 ? "" : "s"} differ from the model · ${after >= before ? "+" : "−"}${money(Math.abs(after - before))}`
        : "Same as the model's cart.";
    }

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
        renderCart();
        setCurrent(items[Math.min(index, items.length - 1)]);
        return;
      }
      current.rejected = true;
      current.decided = true;
      render(current);
      if (current.low) setOpen(current, false);
      advance();
    }

    function pick(product) {
      if (!current || !product.sku) return;
      Object.assign(current.cur, { sku: product.sku, name: product.name, price: product.price, image: product.image });
      current.rejected = false;
      render(current);
      current.el.focus({ preventScroll: true });
    }

    function setAction(action) {
      if (!current) return;
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
      const template = $("#wb-missed-tpl", root);
      const el = template.content.firstElementChild.cloneNode(true);
      $("#wb-missed-list", root).append(el);
      const thumb = $(".thumb", el);
      if (product.image) {
        const img = Object.assign(document.createElement("img"), { src: product.image, alt: "", width: 32, height: 32, className: "thumb" });
        thumb.replaceWith(img);
      } else {
        thumb.textContent = (product.name || "?").slice(0, 2).toUpperCase();
      }
      const item = {
        el,
        type: "missed",
        cur: { sku: product.sku, name: product.name, price: product.price, image: product.image, action: "take", quantity: 1 },
        decided: true,
        rejected: false,
      };
      items.push(item);
      render(item);
      setCurrent(item);
    }

    function move(direction) {
      const index = current ? items.indexOf(current) : -1;
      const next = items[Math.max(0, Math.min(items.length - 1, index + direction))];
      if (next) setCurrent(next);
    }

    function result() {
      const events = items
        .filter((i) => i.type === "event")
        .map((i) => {
          const verdict = verdictOf(i);
          const out = { event: i.id, verdict };
          if (verdict === "correct") Object.assign(out, { sku: i.cur.sku, action: i.cur.action, quantity: i.cur.quantity });
          return out;
        });
      const missed = items.filter((i) => i.type === "missed").map((i) => ({ sku: i.cur.sku, action: i.cur.action, quantity: i.cur.quantity }));
      return { events, missed };
    }

    function submit() {
      const left = undecided();
      if (left.length) {
        showAlert(`${left.length} event${left.length === 1 ? " still needs" : "s still need"} your check: Enter confirms, x rejects.`);
        setCurrent(left[0]);
        return;
      }
      submitResult(result());
    }

    function itemOf(target) {
      const el = target.closest("li.ev");
      return items.find((i) => i.el === el) || null;
    }

    function onClick(event) {
      const button = event.target.closest("[data-act]");
      if (!button || !root.contains(button)) return;
      const item = itemOf(button);
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
        case "pick":
          return pick(productOf(button));
        case "action":
          setAction(button.dataset.value);
          break;
        case "qty":
          changeQuantity(Number(button.dataset.delta));
          break;
        case "search":
          return openSearchFor();
        case "missed":
          return openMissed();
        case "submit":
          return submit();
        case "step":
          stepFrame(video(item), fps(item), Number(button.dataset.dir));
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

    const fps = (item) => {
      const v = video(item);
      return v ? Number(v.dataset.fps || 15) : 15;
    };

    function openSearchFor() {
      if (!current) return;
      const target = current;
      search.open(`Correct the product of ${target.type === "event" ? "this event" : "this missed item"} (now: ${target.cur.name}).`, (product) => {
        setCurrent(target);
        pick(product);
      });
    }

    function openMissed() {
      search.open("Add an item the model did not see (taken, quantity 1; adjust with t/p and +/-).", addMissed);
    }

    function onKey(event) {
      const key = event.key;
      if (key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        return submit();
      }
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const onButton = event.target.closest("button, a, summary");
      if ((key === "Enter" || key === " ") && onButton) return; // the button's own click
      const actions = {
        Enter: confirm,
        " ": confirm,
        x: reject,
        X: reject,
        t: () => setAction("take"),
        p: () => setAction("put_back"),
        "+": () => changeQuantity(1),
        "=": () => changeQuantity(1),
        "-": () => changeQuantity(-1),
        _: () => changeQuantity(-1),
        "/": openSearchFor,
        m: openMissed,
        j: () => move(1),
        ArrowDown: () => move(1),
        k: () => move(-1),
        ArrowUp: () => move(-1),
        ",": () => stepFrame(video(current), fps(current), -1),
        ".": () => stepFrame(video(current), fps(current), 1),
        "<": () => shiftSpeed(video(current), current && $(".player-bar", current.el), -1),
        ">": () => shiftSpeed(video(current), current && $(".player-bar", current.el), 1),
      };
      if (/^[1-9]$/.test(key)) {
        event.preventDefault();
        const button = current && $$("button.cand", current.el)[Number(key) - 1];
        if (button) pick(productOf(button));
        return;
      }
      if (actions[key]) {
        event.preventDefault();
        actions[key]();
      }
    }

    root.addEventListener("click", onClick);
    for (const item of items) render(item);
    renderCart();
    setCurrent(undecided()[0] || items[0] || null);
    if (!items.length) $("#wb-submit", root).focus();
    return {
      onKey,
      resume() {
        const v = video(current);
        if (v) quiet(v.play());
      },
      destroy() {
        $$("video", root).forEach((v) => v.pause());
      },
    };
  }

  // ---- snippet annotation ----------------------------------------------------------------

  function snippetScreen(root) {
    const width = Number(root.dataset.width);
    const height = Number(root.dataset.height);
    const fps = Number(root.dataset.fps) || 15;
    const frames = Number(root.dataset.frames) || 1;
    const video = $("#wb-video", root);
    const canvas = $("#wb-canvas", root);
    const bar = $(".player-bar", root);
    const product = $("#wb-product", root);
    let action = null;
    let sku = product.dataset.sku || null;
    const predicted = JSON.parse($("#wb-predicted-boxes", root).textContent || "[]").map((b) => ({ ...b, predicted: true }));
    const editor = window.LoupeBoxes.create({ canvas, width, height, boxes: predicted, onChange: () => renderBoxes() });
    let frameLoop = null;

    const frameOf = () => Math.max(0, Math.min(frames - 1, Math.floor(video.currentTime * fps + 1e-3)));

    function syncFrame() {
      const frame = frameOf();
      if (frame !== editor.frame) {
        editor.frame = frame;
        renderBoxes();
      }
      $("#wb-frame", root).textContent = String(frame);
    }

    function loop() {
      syncFrame();
      if (!video.paused) {
        frameLoop = video.requestVideoFrameCallback ? video.requestVideoFrameCallback(loop) : requestAnimationFrame(loop);
      }
    }

    function seekFrame(frame) {
      video.pause();
      video.currentTime = (frame + 0.25) / fps;
    }

    function renderBoxes() {
      $("#wb-box-frame", root).textContent = String(editor.frame);
      const list = $("#wb-box-list", root);
      const items = editor.onFrame().map((b) => {
        const li = document.createElement("li");
        li.className = `box ${b.label}${b.id === editor.selected ? " on" : ""}`;
        const select = Object.assign(document.createElement("button"), { type: "button", className: "link-ish" });
        select.dataset.act = "select-box";
        select.dataset.id = String(b.id);
        select.textContent = `${b.label}${b.predicted ? " (model)" : ""} · ${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.w)}×${Math.round(b.h)}`;
        const remove = Object.assign(document.createElement("button"), { type: "button", className: "small secondary danger", textContent: "Delete" });
        remove.dataset.act = "delete-box";
        remove.dataset.id = String(b.id);
        remove.setAttribute("aria-label", `Delete ${b.label} box`);
        li.append(select, remove);
        return li;
      });
      if (!items.length) items.push(Object.assign(document.createElement("li"), { className: "empty", textContent: "No box on this frame." }));
      list.replaceChildren(...items);
      const withBoxes = editor.frames();
      const holder = $("#wb-box-frames", root);
      holder.replaceChildren(document.createTextNode(withBoxes.length ? "Frames with boxes: " : "No boxes yet."));
      for (const frame of withBoxes.slice(0, 60)) {
        const b = Object.assign(document.createElement("button"), { type: "button", className: "chip", textContent: String(frame) });
        b.dataset.act = "seek";
        b.dataset.frame = String(frame);
        if (frame === editor.frame) b.classList.add("on");
        holder.append(b);
      }
    }

    function setAction(value) {
      action = value;
      $$("[data-act=set-action]", root).forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.value === value)));
      $("#wb-actions", root).classList.remove("needed");
      status();
    }

    function setProduct(p) {
      sku = p.sku;
      product.dataset.sku = p.sku;
      const thumb = p.image
        ? Object.assign(document.createElement("img"), { src: p.image, alt: "", width: 32, height: 32, className: "thumb" })
        : Object.assign(document.createElement("span"), { className: "thumb ph", textContent: (p.name || "?").slice(0, 2).toUpperCase() });
      const name = Object.assign(document.createElement("span"), { className: "pname", textContent: p.name });
      const code = Object.assign(document.createElement("code"), { textContent: p.sku });
      product.replaceChildren(thumb, name, document.createTextNode(" "), code);
      $$("button.cand", root).forEach((b) => b.classList.toggle("on", b.dataset.sku === p.sku));
      status();
    }

    function setLabel(value) {
      editor.label = value;
      $$("[data-act=label]", root).forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.value === value)));
    }

    function status(message) {
      $("#wb-status", root).textContent =
        message || (action ? `Action: ${action.replace("_", " ")}. Enter submits.` : "Set the action (t, p, n, u), then Enter submits.");
    }

    function submit() {
      if (!action) {
        // Point at the buttons without focusing one: a focused button would take the next
        // Enter as its own click (Take) instead of the submit the status line promises.
        status("Pick the action first: t take, p put back, n none, u unsure.");
        $("#wb-actions", root).classList.add("needed");
        return;
      }
      if (action !== "none" && !sku) {
        status("Pick the product first: 1–9 or / to search.");
        return;
      }
      const result = { action, boxes: editor.result() };
      if (sku) result.sku = sku;
      submitResult(result);
    }

    function onClick(event) {
      const button = event.target.closest("[data-act]");
      if (!button || !root.contains(button)) return;
      const act = button.dataset.act;
      if (act === "set-action") setAction(button.dataset.value);
      else if (act === "pick") setProduct(productOf(button));
      else if (act === "search") openSearch();
      else if (act === "label") setLabel(button.dataset.value);
      else if (act === "select-box") editor.select(Number(button.dataset.id));
      else if (act === "delete-box") editor.remove(Number(button.dataset.id));
      else if (act === "seek") seekFrame(Number(button.dataset.frame));
      else if (act === "step") stepFrame(video, fps, Number(button.dataset.dir));
      else if (act === "play") togglePlay(video);
      else if (act === "speed") setSpeed(video, Number(button.dataset.speed), bar);
      else if (act === "submit") submit();
      else return;
      if (!button.closest("dialog") && act !== "submit") root.focus({ preventScroll: true });
    }

    function openSearch() {
      search.open("Choose the product in this clip.", setProduct);
    }

    function onKey(event) {
      const key = event.key;
      if (key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        return submit();
      }
      // Keyboard box editing (select, move, resize, add) belongs to the box editor.
      if (editor.handleKey && editor.handleKey(event)) {
        event.preventDefault();
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const onButton = event.target.closest("button, a, summary");
      if ((key === "Enter" || key === " ") && onButton) return;
      const actions = {
        Enter: submit,
        " ": () => togglePlay(video),
        t: () => setAction("take"),
        p: () => setAction("put_back"),
        n: () => setAction("none"),
        u: () => setAction("unsure"),
        b: () => setLabel(editor.label === "hand" ? "product" : "hand"),
        "/": openSearch,
        ",": () => stepFrame(video, fps, -1),
        ".": () => stepFrame(video, fps, 1),
        "<": () => shiftSpeed(video, bar, -1),
        ">": () => shiftSpeed(video, bar, 1),
        Delete: () => editor.selected && editor.remove(editor.selected),
        Backspace: () => editor.selected && editor.remove(editor.selected),
      };
      if (/^[1-9]$/.test(key)) {
        event.preventDefault();
        const button = $$("button.cand", root)[Number(key) - 1];
        if (button) setProduct(productOf(button));
        return;
      }
      if (actions[key]) {
        event.preventDefault();
        actions[key]();
      }
    }

    root.addEventListener("click", onClick);
    canvas.addEventListener("boxes:grab", () => video.pause());
    for (const name of ["timeupdate", "seeked", "loadeddata"]) video.addEventListener(name, syncFrame);
    video.addEventListener("play", loop);
    renderBoxes();
    status();
    root.focus({ preventScroll: true });
    return {
      onKey,
      editor,
      destroy() {
        video.pause();
        if (frameLoop && video.cancelVideoFrameCallback) video.cancelVideoFrameCallback(frameLoop);
        if (editor.destroy) editor.destroy();
      },
    };
  }

  // ---- keys shared by every screen -------------------------------------------------------

  document.addEventListener("keydown", (event) => {
    if (!screen || previewing || event.defaultPrevented) return;
    if (document.querySelector("dialog[open]")) return; // dialogs handle their own keys
    if (event.target instanceof HTMLElement && event.target.closest(TYPING)) return;
    if (event.key === "?") {
      event.preventDefault();
      openHelp();
      return;
    }
    if (!screen.lost && !screen.busy) screen.onKey(event);
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-act=help], [data-act=release]");
    if (!button) return;
    if (button.dataset.act === "help") openHelp();
    else openRelease();
  });

  // ---- start -----------------------------------------------------------------------------

  function init() {
    const root = document.getElementById("workbench");
    screen = null;
    stopHeartbeat();
    stopPreview();
    preview = null;
    previewing = false;
    if (slaTimer) window.clearInterval(slaTimer);
    document.documentElement.dataset.workbenchTask = (root && root.dataset.task) || "";
    if (!root || !root.dataset.kind) return;
    const build = root.dataset.kind === "snippet_annotation" ? snippetScreen : visitScreen;
    screen = build(root);
    screen.submissionId = uuid4();
    screen.task = root.dataset.task;
    tickSla();
    slaTimer = window.setInterval(tickSla, 1000);
    startHeartbeat();
    schedulePreview();
    root.dispatchEvent(new CustomEvent("workbench:ready", { bubbles: true, detail: { task: root.dataset.task } }));
  }

  // For tests and the console: the same heartbeat the timer sends.
  window.LoupeWorkbench = {
    heartbeat,
    get screen() {
      return screen;
    },
    // The task id of the prefetched preview, if any.
    get preview() {
      return preview && preview.node ? preview.node.dataset.task : null;
    },
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
