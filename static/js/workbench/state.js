// What the workbench modules share about the page right now: the controller of the screen
// that is mounted, and whether a preview stands in for it while a submit is in flight.
// One object, so that every module reads the same truth instead of passing it around.

export const state = {
  screen: null, // { onKey, destroy, resume?, editor?, task, submissionId, busy, lost, prefetching }
  previewing: false, // a preview is on screen, the submit still in flight
  queuedKeys: null, // { task, keys }: typed on the preview of `task`, played when it mounts (keys.js)
};
