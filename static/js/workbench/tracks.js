// Snippet tracks: a box followed across frames, kept as its keyframes only. The rule that
// turns keyframes into a box per frame is annotator/tracks.py's, line for line (its
// docstring says it in words); tests/annotator/track_cases.json feeds both. Pure: no DOM.
//
// A keyframe is {frame, x, y, w, h, outside}; a track's keyframes are in strictly increasing
// frame order, in clip pixels.

// a + (b - a) * num / den rounded half up: floor((2(b - a)num + den) / 2den), exact for the
// small integers of clip pixels and frames.
const lerp = (a, b, num, den) => a + Math.floor((2 * (b - a) * num + den) / (2 * den));

function between(a, b, frame) {
  const num = frame - a.frame;
  const den = b.frame - a.frame;
  const left = lerp(a.x, b.x, num, den);
  const top = lerp(a.y, b.y, num, den);
  const right = lerp(a.x + a.w, b.x + b.w, num, den);
  const bottom = lerp(a.y + a.h, b.y + b.h, num, den);
  return { x: left, y: top, w: right - left, h: bottom - top };
}

const boxOf = (k) => ({ x: k.x, y: k.y, w: k.w, h: k.h });

// The index of the last keyframe at or before `frame`, or -1.
export function keyIndexAt(keyframes, frame) {
  let lo = 0;
  let hi = keyframes.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (keyframes[mid].frame <= frame) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

// The track's box on `frame` ({x, y, w, h, keyframe: bool}), or null where it is not in the
// clip. `frameCount` bounds it: past the last frame nothing.
export function boxAt(keyframes, frame, frameCount) {
  if (frame < 0 || frame >= frameCount) return null;
  const index = keyIndexAt(keyframes, frame);
  if (index < 0) return null;
  const key = keyframes[index];
  if (key.outside) return null;
  if (key.frame === frame) return { ...boxOf(key), keyframe: true };
  const next = keyframes[index + 1];
  if (!next || next.outside) return { ...boxOf(key), keyframe: false };
  return { ...between(key, next, frame), keyframe: false };
}

// {frame: {x, y, w, h}} for every frame the track is in: what annotator.tracks.expand gives.
export function expand(track, frameCount) {
  const out = {};
  for (let frame = 0; frame < frameCount; frame++) {
    const box = boxAt(track.keyframes, frame, frameCount);
    if (box) out[frame] = boxOf(box);
  }
  return out;
}

// The keyframes with `key` set on its frame (replacing one there), still in order.
export function withKeyframe(keyframes, key) {
  const index = keyIndexAt(keyframes, key.frame);
  const copy = keyframes.slice();
  if (index >= 0 && copy[index].frame === key.frame) copy[index] = key;
  else copy.splice(index + 1, 0, key);
  return copy;
}
