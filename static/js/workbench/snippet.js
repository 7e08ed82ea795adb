// The snippet-annotation screen: one clip, the action seen in it (take, put back, none,
// unsure), the product, and hand/product boxes per frame drawn with the box editor
// (boxes.js), kept in the clip's own pixels, and tracks: boxes followed across frames by
// their keyframes (tracks.js). Every edit can be undone (history.js); the frame zooms and pans
// (zoom.js). Ctrl+Enter submits once the action is set. An adjudication (a supervisor decides
// between N associates' answers) draws each answer's boxes, dashed, in its colour, on a layer
// under the editor's, and says how many each has on the frame.
import { create as createBoxEditor } from "./boxes.js";
import { $, $$, productOf } from "./dom.js";
import { createHistory } from "./history.js";
import { screenKey, snippetKeymap } from "./keys.js";
import { setSpeed, shiftSpeed, stepFrame, togglePlay } from "./player.js";
import { openSearch } from "./search.js";
import { submitResult } from "./submit.js";
import { createZoom } from "./zoom.js";

export function snippetScreen(root) {
  const width = Number(root.dataset.width);
  const height = Number(root.dataset.height);
  const fps = Number(root.dataset.fps) || 15;
  const frames = Number(root.dataset.frames) || 1;
  const video = $("video.clip", root); // no id: see snippet_task.html
  const canvas = $("#wb-canvas", root);
  const bar = $(".player-bar", root);
  const product = $("#wb-product", root);
  let action = null;
  let sku = product.dataset.sku || null;
  // <template> holds the model's boxes and tracks as JSON text (its content is inert).
  const data = (id) => JSON.parse($(id, root)?.content.textContent || "[]");
  const predicted = data("#wb-predicted-boxes").map((b) => ({ ...b, predicted: true }));
  const predictedTracks = data("#wb-predicted-tracks").map((t) => ({ ...t, predicted: true }));
  const answers = data("#wb-answers");
  const answersLayer = $("#wb-answers-canvas", root);
  let history = null;
  const editor = createBoxEditor({
    canvas,
    width,
    height,
    frames,
    boxes: predicted,
    tracks: predictedTracks,
    onChange: () => {
      renderBoxes();
      if (history) history.commit();
    },
  });
  // Undo / redo cover the boxes, the tracks and the action (not the selection, not the frame).
  // Drafts (drafts.js) keep the same snapshot, so a reload brings the boxes back too.
  const capture = () => JSON.stringify([editor.snapshot(), action]);
  function restore(text) {
    const [shapes, was] = JSON.parse(text);
    editor.restore(shapes);
    setAction(was);
  }
  history = createHistory({ capture, restore });
  const layers = answersLayer ? [video, answersLayer, canvas] : [video, canvas];
  const zoom = createZoom({ viewport: $("#wb-player", root), layers, onChange: () => editor.draw() });
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

  function describe(b) {
    const geometry = `${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.w)}×${Math.round(b.h)}`;
    if (b.kind !== "track") return `${b.label}${b.predicted ? " (model)" : ""} · ${geometry}`;
    return `${b.label} track${b.predicted ? " (model)" : ""} · ${geometry} · ${b.keyframe ? "keyframe" : "interpolated"}`;
  }

  function boxItem(b) {
    const li = document.createElement("li");
    const kind = b.kind === "track" ? ` track ${b.keyframe ? "keyframe" : "interpolated"}` : "";
    li.className = `box ${b.label}${kind}${b.id === editor.selected ? " on" : ""}`;
    const select = button("link-ish", "select-box", describe(b));
    select.dataset.id = String(b.id);
    li.append(select);
    const remove = (act, text, label) => {
      const r = button("small secondary danger", act, text);
      r.dataset.id = String(b.id);
      r.setAttribute("aria-label", label);
      li.append(r);
    };
    if (b.kind !== "track") remove("delete-box", "Delete", `Delete ${b.label} box`);
    else {
      if (b.keyframe) remove("delete-keyframe", "Delete keyframe", `Delete this keyframe of the ${b.label} track`);
      remove("delete-track", "Delete track", `Delete the whole ${b.label} track`);
    }
    return li;
  }

  // Each answer's boxes on the current frame, in the colour of its swatch in the answers card.
  function drawAnswers() {
    if (!answersLayer) return;
    const ctx = answersLayer.getContext("2d");
    ctx.clearRect(0, 0, width, height);
    const shown = answersLayer.getBoundingClientRect().width;
    const sx = shown > 0 ? width / shown : 1;
    const line = Math.max(1, 2 * sx);
    ctx.font = `${Math.round(12 * sx)}px system-ui, sans-serif`;
    for (const answer of answers) {
      const item = $(`[data-answer="${answer.n}"]`, root);
      const swatch = item && $(".swatch", item);
      const color = swatch ? getComputedStyle(swatch).backgroundColor : "#fff";
      const here = answer.boxes.filter((b) => b.frame === editor.frame);
      if (item) $("[data-field=on-frame]", item).textContent = `${here.length} on this frame`;
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.lineWidth = line;
      ctx.setLineDash([4 * line, 2 * line]);
      for (const b of here) {
        ctx.strokeRect(b.x, b.y, b.w, b.h);
        ctx.fillText(`${answer.n} ${answer.username} · ${b.label}`, b.x + 2 * line, Math.min(height - 2, b.y + b.h - 3 * line));
      }
      ctx.setLineDash([]);
    }
  }

  function renderBoxes() {
    drawAnswers();
    $("#wb-box-frame", root).textContent = String(editor.frame);
    const items = editor.onFrame().map(boxItem);
    for (const track of editor.endingHere()) {
      const li = Object.assign(document.createElement("li"), { className: `box ${track.label} track outside`, textContent: `${track.label} track · ends here (outside)` });
      const r = button("small secondary danger", "delete-keyframe", "Delete keyframe");
      r.dataset.id = String(track.id);
      r.setAttribute("aria-label", `Delete this outside keyframe of the ${track.label} track`);
      li.append(r);
      items.push(li);
    }
    if (!items.length) items.push(Object.assign(document.createElement("li"), { className: "empty", textContent: "No box on this frame." }));
    $("#wb-box-list", root).replaceChildren(...items);
    const withBoxes = editor.frames();
    const holder = $("#wb-box-frames", root);
    holder.replaceChildren(document.createTextNode(withBoxes.length ? "Frames with boxes or keyframes: " : "No boxes yet."));
    for (const frame of withBoxes.slice(0, 60)) {
      const chip = button("chip", "seek", String(frame));
      chip.dataset.frame = String(frame);
      if (frame === editor.frame) chip.classList.add("on");
      holder.append(chip);
    }
  }

  function setAction(value) {
    // An adjudication decides (the server refuses "unsure" there too); undo may restore null.
    if (answersLayer && value === "unsure") return status("An adjudication decides: take, put back or none.");
    action = value;
    $$("[data-act=set-action]", root).forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.value === value)));
    $("#wb-actions", root).classList.remove("needed");
    status();
    history.commit();
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

  // `b`: the selected box (or track) changes label, and new boxes follow; with nothing
  // selected only new boxes change.
  function switchLabel() {
    const view = editor.current();
    const next = (view ? view.label : editor.label) === "hand" ? "product" : "hand";
    if (view) editor.relabel(view.id, next);
    setLabel(next);
  }

  function setMode(value) {
    editor.mode = value;
    $$("[data-act=mode]", root).forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.value === editor.mode)));
  }

  function copyForward() {
    const next = editor.copyForward();
    if (next === null) return status("Select a box first ([ and ]), then f copies it to the next frame.");
    editor.frame = next; // at once, so that f f f walks on before the video has seeked
    seekFrame(next);
    renderBoxes();
  }

  function markOutside() {
    if (!editor.outside()) status("Select a track's box first: o ends the track on this frame.");
  }

  function deleteSelected(whole) {
    const id = editor.selected;
    if (id === null) return;
    const object = editor.all().find((o) => o.id === id);
    if (object && object.kind === "track" && whole) editor.removeTrack(id);
    else if (!editor.remove(id)) status("No keyframe of this track here: Shift+Delete deletes the whole track.");
  }

  const undo = () => history.undo();
  const redo = () => history.redo();

  // The screen's own keys beyond the shared keymap (keys.js): tracks, zoom, and Shift+Delete.
  function trackKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return false;
    // Keys the visit screen does not use (keys.js lists them under "Tracks and zoom").
    const acts = {
      r: () => setMode(editor.mode === "track" ? "box" : "track"),
      f: copyForward,
      o: markOutside,
      z: zoom.zoomIn,
      Z: zoom.zoomOut,
      0: zoom.reset,
    };
    let act = acts[event.key];
    if (event.shiftKey && (event.key === "Delete" || event.key === "Backspace")) act = () => deleteSelected(true);
    if (!act) return false;
    event.preventDefault();
    act();
    return true;
  }

  function status(message) {
    $("#wb-status", root).textContent =
      message || (action ? `Action: ${action.replace("_", " ")}. Ctrl+Enter submits.` : `Set the action (${answersLayer ? "t, p, n" : "t, p, n, u"}), then Ctrl+Enter submits.`);
  }

  function submit() {
    if (!action) {
      // Point at the buttons without focusing one: a focused button would take the next
      // Enter as its own click (Take) instead of the submit the status line promises.
      status(`Pick the action first: t take, p put back, n none${answersLayer ? "" : ", u unsure"}.`);
      $("#wb-actions", root).classList.add("needed");
      return;
    }
    if (action !== "none" && !sku) {
      status("Pick the product first: 1–9 or / to search.");
      return;
    }
    const result = { action, boxes: editor.result(), tracks: editor.tracks() };
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
    else if (act === "mode") setMode(target.dataset.value);
    else if (act === "select-box") editor.select(Number(target.dataset.id));
    else if (act === "delete-box" || act === "delete-keyframe") editor.removeKeyframe(Number(target.dataset.id));
    else if (act === "delete-track") editor.removeTrack(Number(target.dataset.id));
    else if (act === "copy-forward") copyForward();
    else if (act === "outside") markOutside();
    else if (act === "undo") undo();
    else if (act === "redo") redo();
    else if (act === "zoom") zoom.zoomBy(Number(target.dataset.factor));
    else if (act === "zoom-reset") zoom.reset();
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
    switchLabel,
    search,
    step: (direction) => stepFrame(video, fps, direction),
    speed: (direction) => shiftSpeed(video, bar, direction),
    deleteBox: () => deleteSelected(false),
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
    onKey(event) {
      if (trackKey(event)) return;
      screenKey(event, { submit, first: (e) => editor.handleKey && editor.handleKey(e), keymap, digit });
    },
    undo,
    redo,
    snapshot: capture,
    restoreSnapshot: restore,
    edited: () => history.canUndo,
    editor,
    zoom,
    destroy() {
      video.pause();
      zoom.destroy();
      if (frameLoop && video.cancelVideoFrameCallback) video.cancelVideoFrameCallback(frameLoop);
      if (editor.destroy) editor.destroy();
    },
  };
}
