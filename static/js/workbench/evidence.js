// What the associate did with each event, measured on the page and sent with its verdict
// (API.md v1.1 "Evidence"): `opened` once the event was the current one with its body shown
// on a visible page; `watched_ms` of clip time spent playing while the page is visible and
// the clip on screen; `frames_viewed` by stepping. The server calls a confirm without
// `opened` unchecked: the model's word, not a judgement.

const TICK_MS = 250;
// A tab frozen or a laptop asleep between two ticks does not count as watching.
const MAX_TICK_MS = 1000;

export const newEvidence = () => ({ opened: false, watched_ms: 0, frames_viewed: 0 });

const pageVisible = () => document.visibilityState === "visible";

// Marks `item` opened if its body is on show now (the caller just made it current and open).
export function noteOpened(item) {
  if (!item.evidence || !pageVisible()) return;
  const body = item.el.querySelector(".ev-body");
  if (!body || !body.hidden) item.evidence.opened = true;
}

export function noteStep(item) {
  if (item && item.evidence) item.evidence.frames_viewed += 1;
}

// Starts the watch clock for every event with a clip; returns a function that stops it.
export function watchClips(items) {
  const onScreen = new Map();
  const observer =
    typeof IntersectionObserver === "function"
      ? new IntersectionObserver((entries) => entries.forEach((e) => onScreen.set(e.target, e.isIntersecting)))
      : null;
  const watched = items
    .map((item) => ({ item, video: item.el.querySelector("video") }))
    .filter(({ item, video }) => video && item.evidence);
  for (const { video } of watched) {
    onScreen.set(video, !observer);
    if (observer) observer.observe(video);
  }
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const spent = Math.min(now - last, MAX_TICK_MS);
    last = now;
    if (!pageVisible()) return;
    for (const { item, video } of watched) {
      const playing = !video.paused && !video.ended && video.readyState >= 3;
      if (playing && onScreen.get(video) && !video.closest("[hidden]")) {
        item.evidence.watched_ms += Math.round(spent);
      }
    }
  }, TICK_MS);
  return () => {
    clearInterval(timer);
    if (observer) observer.disconnect();
  };
}

// The evidence as the result carries it: whole milliseconds and counts.
export const evidenceOf = (item) => ({
  opened: Boolean(item.evidence && item.evidence.opened),
  watched_ms: Math.max(0, Math.round((item.evidence && item.evidence.watched_ms) || 0)),
  frames_viewed: Math.max(0, (item.evidence && item.evidence.frames_viewed) || 0),
});
