// Box editor: boxes for "hand" and "product" drawn by mouse on a canvas laid over a video.
// The canvas's own width/height are the clip's pixels and CSS scales it with the video, so
// every box is kept in CLIP pixel coordinates whatever the display size; only pointer
// positions are converted (display px -> clip px). The keyboard edits the same boxes
// (handleKey): a keypress moves or resizes by one clip pixel, so keyboard-only work is as
// exact as the mouse whatever the player's size on screen.

const HANDLE_PX = 8; // grab distance for a corner, in display pixels
const MIN_SIZE = 3; // smaller drags are clicks, not boxes (clip pixels)
const COLORS = { hand: "#f59e0b", product: "#22d3ee" };
const STEP = 1; // clip pixels per arrow press
const BIG_STEP = 10; // with Shift
const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

export function create({ canvas, width, height, boxes = [], onChange = () => {} }) {
  const ctx = canvas.getContext("2d");
  const state = { boxes: boxes.map((b, i) => ({ ...b, id: i + 1 })), nextId: boxes.length + 1, frame: 0, label: "hand", selected: null, drag: null };

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
  const onFrame = () => state.boxes.filter((b) => b.frame === state.frame);

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
      ctx.setLineDash(b.predicted ? [6 * line, 3 * line] : []);
      ctx.strokeRect(b.x, b.y, b.w, b.h);
      ctx.setLineDash([]);
      ctx.fillStyle = color;
      ctx.fillText(`${b.label}${b.predicted ? " (model)" : ""}`, b.x + 2 * line, Math.max(10 * line, b.y - 3 * line));
      if (b.id === state.selected) {
        const s = HANDLE_PX * 0.6 * sx;
        for (const [cx, cy] of corners(b)) ctx.fillRect(cx - s, cy - s, 2 * s, 2 * s);
      }
    }
  }

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
    if (event.button !== 0) return;
    event.preventDefault();
    const p = toClip(event);
    const found = hit(p);
    if (found) {
      state.selected = found.box.id;
      found.box.predicted = false;
      state.drag = { ...found, start: p, orig: { ...found.box } };
    } else {
      const box = { id: state.nextId++, frame: state.frame, label: state.label, x: p.x, y: p.y, w: 0, h: 0 };
      state.boxes.push(box);
      state.selected = box.id;
      state.drag = { box, mode: "resize", ax: p.x, ay: p.y, fresh: true };
    }
    canvas.dispatchEvent(new CustomEvent("boxes:grab", { bubbles: true }));
    changed();
  });

  // ---- keyboard ----------------------------------------------------------------------

  // The selected box if it is on the frame shown: keys never edit a box nobody can see.
  const current = () => onFrame().find((b) => b.id === state.selected) || null;

  function grab(box) {
    // Same as a mouse grab: the player stops so the frame being edited stays put.
    canvas.dispatchEvent(new CustomEvent("boxes:grab", { bubbles: true }));
    if (box) {
      box.predicted = false;
      Object.assign(box, clampBox(box));
    }
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
    const b = current();
    if (!b) return false;
    grab(b);
    b.x = Math.max(0, Math.min(width - b.w, b.x + dx));
    b.y = Math.max(0, Math.min(height - b.h, b.y + dy));
    changed();
    return true;
  }

  // From the bottom-right corner: the top-left corner stays where it is.
  function stretch(dw, dh) {
    const b = current();
    if (!b) return false;
    grab(b);
    b.w = Math.max(1, Math.min(width - b.x, b.w + dw));
    b.h = Math.max(1, Math.min(height - b.y, b.h + dh));
    changed();
    return true;
  }

  function add() {
    // A square a quarter of the frame's short side, centred: big enough to see and grab,
    // small enough to nudge onto a hand or a product in a few presses.
    const side = Math.max(MIN_SIZE, Math.round(Math.min(width, height) / 4));
    const box = { id: state.nextId++, frame: state.frame, label: state.label, x: Math.round((width - side) / 2), y: Math.round((height - side) / 2), w: side, h: side };
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
    if (b.w < MIN_SIZE || b.h < MIN_SIZE) {
      if (drag.fresh) {
        state.boxes = state.boxes.filter((x) => x !== b);
        state.selected = null;
      } else {
        Object.assign(b, drag.orig);
      }
    } else {
      Object.assign(b, clampBox(b));
    }
    changed();
  }, { signal: listening.signal });

  const api = {
    get frame() { return state.frame; },
    set frame(value) {
      state.frame = value;
      if (state.selected !== null && !current()) state.selected = null; // left on another frame
      draw();
    },
    get label() { return state.label; },
    set label(value) { state.label = value; },
    get selected() { return state.selected; },
    select(id) { state.selected = id; changed(); },
    handleKey,
    remove(id) {
      state.boxes = state.boxes.filter((b) => b.id !== id);
      if (state.selected === id) state.selected = null;
      changed();
    },
    onFrame,
    all: () => state.boxes.slice(),
    frames: () => [...new Set(state.boxes.map((b) => b.frame))].sort((a, b) => a - b),
    // The boxes as the result wants them: integers in clip pixels, inside the frame.
    result: () => state.boxes.map((b) => clampBox(b)).map(({ frame, label, x, y, w, h }) => ({ frame, label, x, y, w, h })),
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

