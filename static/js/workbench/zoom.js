// Zoom and pan on the snippet's frame: one CSS transform (translate, then scale, from the top
// left corner) on the video and the box canvas together, inside a player that clips them.
// Nothing else changes: the box editor reads every pointer through the canvas's on-screen
// rectangle, which the transform moves and scales, so boxes stay in clip pixels at any zoom.
// The wheel zooms around the pointer; a middle-button or Ctrl+drag pans.

const MIN = 1;
const MAX = 8;
const STEP = 1.25; // per key press or wheel notch

export function createZoom({ viewport, layers, onChange = () => {} }) {
  let scale = 1;
  let tx = 0;
  let ty = 0;
  let pan = null;
  const listening = new AbortController();
  const signal = listening.signal;

  // The content must cover the viewport: no empty band at any zoom.
  function clamp() {
    const w = viewport.clientWidth;
    const h = viewport.clientHeight;
    tx = Math.min(0, Math.max(w - w * scale, tx));
    ty = Math.min(0, Math.max(h - h * scale, ty));
  }

  function apply() {
    clamp();
    const transform = scale === 1 ? "" : `translate(${tx}px, ${ty}px) scale(${scale})`;
    for (const layer of layers) {
      layer.style.transformOrigin = "0 0";
      layer.style.transform = transform;
    }
    viewport.classList.toggle("zoomed", scale > 1);
    viewport.dataset.zoom = scale.toFixed(2);
    onChange(scale);
  }

  // Zoom by `factor` keeping the viewport point (px, py) (default: its centre) where it is.
  function zoomBy(factor, px = viewport.clientWidth / 2, py = viewport.clientHeight / 2) {
    const next = Math.min(MAX, Math.max(MIN, scale * factor));
    if (next === scale) return;
    tx = px - ((px - tx) * next) / scale;
    ty = py - ((py - ty) * next) / scale;
    scale = next;
    apply();
  }

  function reset() {
    scale = 1;
    tx = 0;
    ty = 0;
    apply();
  }

  viewport.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      const rect = viewport.getBoundingClientRect();
      zoomBy(event.deltaY < 0 ? STEP : 1 / STEP, event.clientX - rect.left, event.clientY - rect.top);
    },
    { signal, passive: false },
  );
  viewport.addEventListener(
    "mousedown",
    (event) => {
      if (!(event.button === 1 || (event.button === 0 && (event.ctrlKey || event.metaKey)))) return;
      event.preventDefault();
      pan = { x: event.clientX, y: event.clientY, tx, ty };
    },
    { signal, capture: true },
  );
  window.addEventListener(
    "mousemove",
    (event) => {
      if (!pan) return;
      tx = pan.tx + event.clientX - pan.x;
      ty = pan.ty + event.clientY - pan.y;
      apply();
    },
    { signal },
  );
  window.addEventListener("mouseup", () => (pan = null), { signal });

  return {
    zoomIn: () => zoomBy(STEP),
    zoomOut: () => zoomBy(1 / STEP),
    zoomBy,
    reset,
    get scale() {
      return scale;
    },
    destroy: () => listening.abort(),
  };
}
