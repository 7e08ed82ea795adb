// Box editor: boxes for "hand" and "product" drawn by mouse on a canvas laid over a video.
// The canvas's own width/height are the clip's pixels and CSS scales it with the video, so
// every box is kept in CLIP pixel coordinates whatever the display size; only pointer
// positions are converted (display px -> clip px). The keyboard edits the same boxes
// (handleKey): a keypress moves or resizes by one clip pixel, so keyboard-only work is as
// exact as the mouse whatever the player's size on screen.
//
// Two kinds of object: a box (one frame) and a track (a box followed across frames, kept as
// its keyframes; tracks.js says what it is on the frames between). On any frame the editor
// shows views: a box is its own view, a track's view is its box there, a keyframe or an
// interpolation (drawn dashed). Editing a track's view on a frame makes (or changes) the
// keyframe there, so "move to another frame and adjust it" is how a track is made to follow.
// Zoom and pan transform the canvas with the video: every position is read through the
// canvas's on-screen rectangle, so boxes stay in clip pixels whatever the zoom.
import { boxAt, keyIndexAt, withKeyframe } from "./tracks.js";

const HANDLE_PX = 8; // grab distance for a corner, in display pixels
const MIN_SIZE = 3; // smaller drags are clicks, not boxes (clip pixels)
const COLORS = { hand: "#f59e0b", product: "#22d3ee" };
const STEP = 1; // clip pixels per arrow press
const BIG_STEP = 10; // with Shift
const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

export function create({ canvas, width, height, frames = Infinity, boxes = [], tracks = [], onChange = () => {} }) {
  const ctx = canvas.getContext("2d");
  const objects = [
    ...boxes.map((b) => ({ ...b, kind: "box" })),
    ...tracks.map((t) => ({ ...t, kind: "track", keyframes: t.keyframes.map((k) => ({ ...k, outside: Boolean(k.outside) })) })),
  ].map((o, i) => ({ ...o, id: i + 1 }));
  // `boxes`: every object, single boxes and tracks alike (the name the editor grew up with).
  const state = { boxes: objects, nextId: objects.length + 1, frame: 0, label: "hand", mode: "box", selected: null, drag: null };
  const frameCount = Number.isFinite(frames) ? frames : Number.MAX_SAFE_INTEGER;

  const scale = () => {
    const rect = canvas.getBoundingClientRect();
    return { rect, sx: width / rect.width, sy: height / rect.height };
  };
  const toClip = (event) => {
    const { rect, sx, sy } = scale();
    return {
      x: Math.min(width, Math.max(0, (event.clientX - rect.left) * sx)),
      y: Math.min(height, Math.max(0, (event.clientY - rect.top) * sy)),
    };
  };
  const objectOf = (id) => state.boxes.find((o) => o.id === id) || null;

  // A track's view on the frame shown, or null where it is not in the clip there.
  function trackView(track) {
    const at = boxAt(track.keyframes, state.frame, frameCount);
    return at && { id: track.id, kind: "track", label: track.label, predicted: track.predicted, frame: state.frame, ...at };
  }

  const onFrame = () =>
    state.boxes.flatMap((o) => {
      if (o.kind === "track") {
        const view = trackView(o);
        return view ? [view] : [];
      }
      return o.frame === state.frame ? [o] : [];
    });

  // What an edit of a view changes: a box is its own; a track's is its keyframe on this
  // frame, made from the view when there is none (`inserted`).
  function editable(view) {
    if (view.kind !== "track") return { target: view, inserted: false };
    const track = objectOf(view.id);
    const index = keyIndexAt(track.keyframes, state.frame);
    if (index >= 0 && track.keyframes[index].frame === state.frame && !track.keyframes[index].outside) {
      return { target: track.keyframes[index], inserted: false };
    }
    const key = { frame: state.frame, x: view.x, y: view.y, w: view.w, h: view.h, outside: false };
    track.keyframes = withKeyframe(track.keyframes, key);
    return { target: key, inserted: true };
  }

  function dropKeyframe(track, key) {
    track.keyframes = track.keyframes.filter((k) => k !== key);
  }

  function clampBox(b) {
    let x = Math.round(Math.max(0, Math.min(b.x, width - 1)));
    let y = Math.round(Math.max(0, Math.min(b.y, height - 1)));
    let w = Math.round(Math.max(1, Math.min(b.w, width - x)));
    let h = Math.round(Math.max(1, Math.min(b.h, height - y)));
    return { ...b, x, y, w, h };
  }

  function draw() {
    ctx.clearRect(0, 0, width, height);
    const { sx } = scale();
    const line = Math.max(1, 2 * (Number.isFinite(sx) ? sx : 1));
    ctx.font = `${Math.round(12 * (Number.isFinite(sx) ? sx : 1))}px system-ui, sans-serif`;
    for (const b of onFrame()) {
      const color = COLORS[b.label] || "#fff";
      ctx.lineWidth = b.id === state.selected ? line * 1.8 : line;
      ctx.strokeStyle = color;
      if (b.id === state.selected) {
        // A keyboard user has no pointer over the box: the selection must stand out.
        ctx.globalAlpha = 0.18;
        ctx.fillStyle = color;
        ctx.fillRect(b.x, b.y, b.w, b.h);
        ctx.globalAlpha = 1;
      }
      // Interpolated: short dashes and fainter, so keyframes (solid) stand out; the model's
      // boxes: long dashes.
      const between = b.kind === "track" && !b.keyframe;
      ctx.setLineDash(between ? [2 * line, 3 * line] : b.predicted ? [6 * line, 3 * line] : []);
      if (between) ctx.globalAlpha = 0.8;
      ctx.strokeRect(b.x, b.y, b.w, b.h);
      ctx.setLineDash([]);
      ctx.fillStyle = color;
      ctx.fillText(describe(b), b.x + 2 * line, Math.max(10 * line, b.y - 3 * line));
      ctx.globalAlpha = 1;
      if (b.id === state.selected) {
        const s = HANDLE_PX * 0.6 * sx;
        for (const [cx, cy] of corners(b)) ctx.fillRect(cx - s, cy - s, 2 * s, 2 * s);
      }
    }
  }

  const describe = (b) =>
    `${b.label}${b.kind === "track" ? " track" : ""}${b.predicted ? " (model)" : ""}${b.kind === "track" ? (b.keyframe ? " · keyframe" : " · interpolated") : ""}`;

  const corners = (b) => [[b.x, b.y], [b.x + b.w, b.y], [b.x, b.y + b.h], [b.x + b.w, b.y + b.h]];

  function hit(p) {
    const { sx } = scale();
    const grab = HANDLE_PX * sx;
    const list = onFrame().reverse();
    for (const b of list) {
      const i = corners(b).findIndex(([cx, cy]) => Math.abs(cx - p.x) <= grab && Math.abs(cy - p.y) <= grab);
      if (i >= 0) {
        const [ax, ay] = corners(b)[3 - i]; // the opposite corner stays put
        return { box: b, mode: "resize", ax, ay };
      }
    }
    for (const b of list) {
      if (p.x >= b.x && p.x <= b.x + b.w && p.y >= b.y && p.y <= b.y + b.h) return { box: b, mode: "move" };
    }
    return null;
  }

  function changed() {
    draw();
    onChange(api);
  }

  canvas.addEventListener("mousedown", (event) => {
    if (event.button !== 0 || event.ctrlKey || event.metaKey) return; // Ctrl+drag pans (zoom.js)
    event.preventDefault();
    const p = toClip(event);
    const found = hit(p);
    if (found) {
      state.selected = found.box.id;
      const { target, inserted } = editable(found.box);
      state.drag = { ...found, box: target, object: objectOf(found.box.id), inserted, start: p, orig: { ...target } };
    } else if (state.mode === "track") {
      const key = { frame: state.frame, x: p.x, y: p.y, w: 0, h: 0, outside: false };
      const track = { id: state.nextId++, kind: "track", label: state.label, keyframes: [key] };
      state.boxes.push(track);
      state.selected = track.id;
      state.drag = { box: key, object: track, mode: "resize", ax: p.x, ay: p.y, fresh: true };
    } else {
      const box = { id: state.nextId++, kind: "box", frame: state.frame, label: state.label, x: p.x, y: p.y, w: 0, h: 0 };
      state.boxes.push(box);
      state.selected = box.id;
      state.drag = { box, object: box, mode: "resize", ax: p.x, ay: p.y, fresh: true };
    }
    canvas.dispatchEvent(new CustomEvent("boxes:grab", { bubbles: true }));
    changed();
  });

  // ---- keyboard ----------------------------------------------------------------------

  // The selected box if it is on the frame shown: keys never edit a box nobody can see.
  const current = () => onFrame().find((b) => b.id === state.selected) || null;

  // Same as a mouse grab: the player stops so the frame being edited stays put. Answers
  // what the edit changes (see `editable`).
  function grab(view) {
    canvas.dispatchEvent(new CustomEvent("boxes:grab", { bubbles: true }));
    if (!view) return null;
    objectOf(view.id).predicted = false;
    const { target } = editable(view);
    Object.assign(target, clampBox(target));
    return target;
  }

  function cycle(direction) {
    const list = onFrame();
    if (!list.length) return false;
    const at = list.findIndex((b) => b.id === state.selected);
    const next = at < 0 ? (direction > 0 ? 0 : list.length - 1) : (at + direction + list.length) % list.length;
    grab(null);
    state.selected = list[next].id;
    changed();
    return true;
  }

  function nudge(dx, dy) {
    const view = current();
    if (!view) return false;
    const b = grab(view);
    b.x = Math.max(0, Math.min(width - b.w, b.x + dx));
    b.y = Math.max(0, Math.min(height - b.h, b.y + dy));
    changed();
    return true;
  }

  // From the bottom-right corner: the top-left corner stays where it is.
  function stretch(dw, dh) {
    const view = current();
    if (!view) return false;
    const b = grab(view);
    b.w = Math.max(1, Math.min(width - b.x, b.w + dw));
    b.h = Math.max(1, Math.min(height - b.y, b.h + dh));
    changed();
    return true;
  }

  function add() {
    // A square a quarter of the frame's short side, centred: big enough to see and grab,
    // small enough to nudge onto a hand or a product in a few presses.
    const side = Math.max(MIN_SIZE, Math.round(Math.min(width, height) / 4));
    const geometry = { x: Math.round((width - side) / 2), y: Math.round((height - side) / 2), w: side, h: side };
    const box =
      state.mode === "track"
        ? { id: state.nextId++, kind: "track", label: state.label, keyframes: [{ frame: state.frame, ...geometry, outside: false }] }
        : { id: state.nextId++, kind: "box", frame: state.frame, label: state.label, ...geometry };
    grab(null);
    state.boxes.push(box);
    state.selected = box.id;
    changed();
    return true;
  }

  function handleKey(event) {
    if (event.ctrlKey || event.metaKey || state.drag) return false;
    const key = event.key;
    const arrow = ARROWS[key];
    if (arrow) {
      const step = event.shiftKey ? BIG_STEP : STEP;
      // Alt+Left/Right is also the browser's back/forward: taken even with nothing selected,
      // so a resize key never leaves the task.
      if (event.altKey) return stretch(arrow[0] * step, arrow[1] * step) || true;
      return nudge(arrow[0] * step, arrow[1] * step);
    }
    if (event.altKey) return false;
    if (key === "]") return cycle(1);
    if (key === "[") return cycle(-1);
    if (key === "a") return add();
    if (key === "Escape" && state.selected !== null) {
      state.selected = null;
      changed();
      return true;
    }
    return false;
  }

  // Listeners on window outlive the screen: destroy() lets the page drop them when it swaps
  // in the next task. (Not on a detached canvas alone: the page may put a screen back.)
  const listening = new AbortController();
  const observer = new ResizeObserver(draw);

  window.addEventListener("mousemove", (event) => {
    const drag = state.drag;
    if (!drag) return;
    const p = toClip(event);
    const b = drag.box;
    if (drag.mode === "move") {
      b.x = Math.max(0, Math.min(width - drag.orig.w, drag.orig.x + p.x - drag.start.x));
      b.y = Math.max(0, Math.min(height - drag.orig.h, drag.orig.y + p.y - drag.start.y));
    } else {
      b.x = Math.min(drag.ax, p.x);
      b.y = Math.min(drag.ay, p.y);
      b.w = Math.abs(p.x - drag.ax);
      b.h = Math.abs(p.y - drag.ay);
    }
    draw();
  }, { signal: listening.signal });

  window.addEventListener("mouseup", () => {
    const drag = state.drag;
    if (!drag) return;
    state.drag = null;
    const b = drag.box;
    const same = !drag.fresh && ["x", "y", "w", "h"].every((k) => b[k] === drag.orig[k]);
    if (b.w < MIN_SIZE || b.h < MIN_SIZE || same) {
      if (drag.fresh) {
        state.boxes = state.boxes.filter((x) => x !== drag.object);
        state.selected = null;
      } else if (drag.inserted) {
        dropKeyframe(drag.object, b); // a click on an interpolated box: no keyframe made
      } else {
        Object.assign(b, drag.orig);
      }
    } else {
      Object.assign(b, clampBox(b));
      drag.object.predicted = false;
    }
    changed();
  }, { signal: listening.signal });

  // ---- tracks and labels -------------------------------------------------------------

  // The selected object's box copied onto the next frame: a box as a new box there
  // (selected), a track as its keyframe there. Answers the next frame, or null.
  function copyForward() {
    const view = current();
    const next = state.frame + 1;
    if (!view || next >= frameCount) return null;
    const geometry = clampBox(view);
    const object = objectOf(view.id);
    if (object.kind === "track") {
      object.predicted = false;
      object.keyframes = withKeyframe(object.keyframes, { frame: next, x: geometry.x, y: geometry.y, w: geometry.w, h: geometry.h, outside: false });
    } else {
      const copy = { id: state.nextId++, kind: "box", frame: next, label: object.label, x: geometry.x, y: geometry.y, w: geometry.w, h: geometry.h };
      state.boxes.push(copy);
      state.selected = copy.id;
    }
    changed();
    return next;
  }

  // The selected track leaves the picture on this frame: an `outside` keyframe here.
  function outside() {
    const view = current();
    if (!view || view.kind !== "track") return false;
    const track = objectOf(view.id);
    const geometry = clampBox(view);
    track.keyframes = withKeyframe(track.keyframes, { frame: state.frame, x: geometry.x, y: geometry.y, w: geometry.w, h: geometry.h, outside: true });
    track.predicted = false;
    state.selected = null;
    changed();
    return true;
  }

  // Tracks with an `outside` keyframe on this frame (they show no box here, so the list
  // offers their keyframe for deletion).
  const endingHere = () =>
    state.boxes.filter((o) => o.kind === "track" && o.keyframes.some((k) => k.frame === state.frame && k.outside));

  function removeObject(id) {
    state.boxes = state.boxes.filter((b) => b.id !== id);
    if (state.selected === id) state.selected = null;
    changed();
  }

  // A track's keyframe on this frame goes (the track with it when none is left inside the
  // picture); a box goes. False when a track has no keyframe here (an interpolated box).
  function removeKeyframe(id) {
    const object = objectOf(id);
    if (!object) return false;
    if (object.kind !== "track") {
      removeObject(id);
      return true;
    }
    const key = object.keyframes.find((k) => k.frame === state.frame);
    if (!key) return false;
    dropKeyframe(object, key);
    if (!object.keyframes.some((k) => !k.outside)) {
      removeObject(id);
      return true;
    }
    if (state.selected === id && !current()) state.selected = null;
    changed();
    return true;
  }

  function relabel(id, label) {
    const object = objectOf(id);
    if (!object || object.label === label) return false;
    object.label = label;
    object.predicted = false; // the associate's now
    changed();
    return true;
  }

  const clampKey = (k) => ({ frame: k.frame, ...clampBox(k), outside: Boolean(k.outside) });

  const api = {
    get frame() { return state.frame; },
    set frame(value) {
      state.frame = value;
      if (state.selected !== null && !current()) state.selected = null; // left on another frame
      draw();
    },
    get label() { return state.label; },
    set label(value) { state.label = value; },
    // "box": new boxes are single-frame boxes; "track": they are tracks.
    get mode() { return state.mode; },
    set mode(value) { state.mode = value === "track" ? "track" : "box"; },
    get selected() { return state.selected; },
    select(id) { state.selected = id; changed(); },
    handleKey,
    remove: (id) => (objectOf(id) && objectOf(id).kind === "track" ? removeKeyframe(id) : removeObject(id)),
    removeTrack: removeObject,
    removeKeyframe,
    copyForward,
    outside,
    relabel,
    endingHere,
    current,
    onFrame,
    all: () => state.boxes.slice(),
    frames: () =>
      [...new Set(state.boxes.flatMap((b) => (b.kind === "track" ? b.keyframes.map((k) => k.frame) : [b.frame])))].sort((a, b) => a - b),
    // The boxes as the result wants them: integers in clip pixels, inside the frame.
    result: () =>
      state.boxes.filter((b) => b.kind !== "track").map((b) => clampBox(b)).map(({ frame, label, x, y, w, h }) => ({ frame, label, x, y, w, h })),
    // The tracks likewise: keyframes in frame order, integers, inside the frame.
    tracks: () =>
      state.boxes
        .filter((b) => b.kind === "track" && b.keyframes.length)
        .map((t) => ({ label: t.label, keyframes: t.keyframes.map(clampKey) })),
    // What undo / redo keep (history.js): every object, not the selection.
    snapshot: () => JSON.stringify([state.nextId, state.boxes]),
    restore(text) {
      const [nextId, boxes] = JSON.parse(text);
      state.nextId = nextId;
      state.boxes = boxes;
      state.drag = null;
      if (state.selected !== null && !current()) state.selected = null;
      changed();
    },
    draw,
    destroy() {
      listening.abort();
      observer.disconnect();
    },
  };
  observer.observe(canvas);
  draw();
  return api;
}

