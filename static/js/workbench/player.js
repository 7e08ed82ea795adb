// Clip controls both screens share: frame steps, speed, play/pause, and the Play button's
// label, which follows the clip (clips also start and stop on their own).
import { $$ } from "./dom.js";

const SPEEDS = [0.5, 1, 2];

// play() rejects when a newer pause() or a detach interrupts it: nothing to report then.
export const quiet = (promise) => (promise && promise.catch ? promise.catch(() => {}) : promise);

export function stepFrame(video, fps, direction) {
  if (!video) return;
  video.pause();
  const frame = Math.floor(video.currentTime * fps + 1e-3) + direction;
  const last = video.duration && Number.isFinite(video.duration) ? Math.floor(video.duration * fps) - 1 : frame;
  video.currentTime = (Math.max(0, Math.min(frame, last)) + 0.25) / fps;
}

export function setSpeed(video, speed, bar) {
  if (!video) return;
  video.playbackRate = speed;
  if (!bar) return;
  for (const b of $$("[data-act=speed]", bar)) {
    b.classList.toggle("on", Number(b.dataset.speed) === speed);
    b.setAttribute("aria-pressed", String(Number(b.dataset.speed) === speed));
  }
}

export function shiftSpeed(video, bar, direction) {
  const index = SPEEDS.indexOf(video ? video.playbackRate : 1);
  setSpeed(video, SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (index < 0 ? 1 : index) + direction))], bar);
}

export function togglePlay(video) {
  if (!video) return;
  if (video.paused) quiet(video.play());
  else video.pause();
}

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

// A clip whose request is still on its way when the task is submitted may be answered after
// the submit has ended the lease: a 404 the browser logs as an error. Halting it then does not
// stop a request the server already holds, so the submit first lets a loading clip reach a
// pause in its loading (`suspend`: a few milliseconds for a short clip), at most `ms` (a long
// clip still streaming was answered while the lease held; only its newest range is at risk).
const LOAD_EVENTS = ["suspend", "progress", "loadeddata", "canplaythrough", "error", "abort", "emptied"];
const loading = (video) => video.networkState === HTMLMediaElement.NETWORK_LOADING;

export function clipsSettled(root, ms = 500) {
  return Promise.all(
    $$("video[src]", root)
      .filter(loading)
      .map(
        (video) =>
          new Promise((resolve) => {
            const check = () => {
              if (loading(video) && !timedOut) return;
              window.clearTimeout(timer);
              for (const type of LOAD_EVENTS) video.removeEventListener(type, check);
              resolve();
            };
            let timedOut = false;
            const timer = window.setTimeout(() => {
              timedOut = true;
              check();
            }, ms);
            for (const type of LOAD_EVENTS) video.addEventListener(type, check);
          }),
      ),
  );
}

// A task's media are served only while its lease is held, so a clip still buffering when the
// task is submitted or given back would go on asking for ranges the server then refuses
// (404): no request may outlive the task it belongs to. Stops every clip under `root` from
// loading (the poster stays) and returns how to let them load again where they were (the
// submit failed and the screen comes back).
export function haltClips(root) {
  const halted = $$("video[src]", root).map((video) => ({ video, src: video.getAttribute("src"), at: video.currentTime }));
  for (const { video } of halted) {
    video.pause();
    video.removeAttribute("src");
    video.load();
  }
  return () => {
    for (const { video, src, at } of halted) {
      if (video.hasAttribute("src")) continue;
      video.setAttribute("src", src);
      video.load();
      if (at) video.currentTime = at;
    }
  };
}
