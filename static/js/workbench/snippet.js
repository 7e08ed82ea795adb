// The snippet-annotation screen: one clip, the action seen in it (take, put back, none,
// unsure), the product, and hand/product boxes per frame drawn with the box editor
// (boxes.js), kept in the clip's own pixels. Ctrl+Enter submits once the action is set.
import { create as createBoxEditor } from "./boxes.js";
import { $, $$, productOf } from "./dom.js";
import { screenKey, snippetKeymap } from "./keys.js";
import { setSpeed, shiftSpeed, stepFrame, togglePlay } from "./player.js";
import { openSearch } from "./search.js";
import { submitResult } from "./submit.js";

export function snippetScreen(root) {
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
  const editor = createBoxEditor({ canvas, width, height, boxes: predicted, onChange: () => renderBoxes() });
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

  function button(className, act, text) {
    const b = Object.assign(document.createElement("button"), { type: "button", className, textContent: text });
    b.dataset.act = act;
    return b;
  }

  function renderBoxes() {
    $("#wb-box-frame", root).textContent = String(editor.frame);
    const items = editor.onFrame().map((b) => {
      const li = document.createElement("li");
      li.className = `box ${b.label}${b.id === editor.selected ? " on" : ""}`;
      const select = button("link-ish", "select-box", `${b.label}${b.predicted ? " (model)" : ""} · ${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.w)}×${Math.round(b.h)}`);
      select.dataset.id = String(b.id);
      const remove = button("small secondary danger", "delete-box", "Delete");
      remove.dataset.id = String(b.id);
      remove.setAttribute("aria-label", `Delete ${b.label} box`);
      li.append(select, remove);
      return li;
    });
    if (!items.length) items.push(Object.assign(document.createElement("li"), { className: "empty", textContent: "No box on this frame." }));
    $("#wb-box-list", root).replaceChildren(...items);
    const withBoxes = editor.frames();
    const holder = $("#wb-box-frames", root);
    holder.replaceChildren(document.createTextNode(withBoxes.length ? "Frames with boxes: " : "No boxes yet."));
    for (const frame of withBoxes.slice(0, 60)) {
      const chip = button("chip", "seek", String(frame));
      chip.dataset.frame = String(frame);
      if (frame === editor.frame) chip.classList.add("on");
      holder.append(chip);
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
      message || (action ? `Action: ${action.replace("_", " ")}. Ctrl+Enter submits.` : "Set the action (t, p, n, u), then Ctrl+Enter submits.");
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

  const search = () => openSearch("Choose the product in this clip.", setProduct);

  function onClick(event) {
    const target = event.target.closest("[data-act]");
    if (!target || !root.contains(target)) return;
    const act = target.dataset.act;
    if (act === "set-action") setAction(target.dataset.value);
    else if (act === "pick") setProduct(productOf(target));
    else if (act === "search") search();
    else if (act === "label") setLabel(target.dataset.value);
    else if (act === "select-box") editor.select(Number(target.dataset.id));
    else if (act === "delete-box") editor.remove(Number(target.dataset.id));
    else if (act === "seek") seekFrame(Number(target.dataset.frame));
    else if (act === "step") stepFrame(video, fps, Number(target.dataset.dir));
    else if (act === "play") togglePlay(video);
    else if (act === "speed") setSpeed(video, Number(target.dataset.speed), bar);
    else if (act === "submit") submit();
    else return;
    if (!target.closest("dialog") && act !== "submit") root.focus({ preventScroll: true });
  }

  const keymap = snippetKeymap({
    submit,
    play: () => togglePlay(video),
    setAction,
    switchLabel: () => setLabel(editor.label === "hand" ? "product" : "hand"),
    search,
    step: (direction) => stepFrame(video, fps, direction),
    speed: (direction) => shiftSpeed(video, bar, direction),
    deleteBox: () => editor.selected && editor.remove(editor.selected),
  });

  function digit(n) {
    const candidate = $$("button.cand", root)[n - 1];
    if (candidate) setProduct(productOf(candidate));
  }

  root.addEventListener("click", onClick);
  canvas.addEventListener("boxes:grab", () => video.pause());
  for (const name of ["timeupdate", "seeked", "loadeddata"]) video.addEventListener(name, syncFrame);
  video.addEventListener("play", loop);
  renderBoxes();
  status();
  root.focus({ preventScroll: true });
  return {
    onKey: (event) => screenKey(event, { submit, first: (e) => editor.handleKey && editor.handleKey(e), keymap, digit }),
    editor,
    destroy() {
      video.pause();
      if (frameLoop && video.cancelVideoFrameCallback) video.cancelVideoFrameCallback(frameLoop);
      if (editor.destroy) editor.destroy();
    },
  };
}
