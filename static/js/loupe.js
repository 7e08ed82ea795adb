// Loupe page behaviour. No inline scripts anywhere: the CSP allows only files from 'self'.
"use strict";

// Keyboard shortcuts: an element with data-hotkey="s" is clicked when S is pressed, unless
// the user is typing in a field or holds a modifier.
document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.repeat || event.ctrlKey || event.metaKey || event.altKey) {
    return;
  }
  const target = event.target;
  if (target instanceof HTMLElement && (target.isContentEditable || target.closest("input, textarea, select"))) {
    return;
  }
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  const element = document.querySelector(`[data-hotkey="${CSS.escape(key)}"]`);
  if (element instanceof HTMLElement && !element.hasAttribute("disabled")) {
    event.preventDefault();
    element.click();
  }
});

// A poll or swap that was redirected to the sign-in page (session expired, signed out in
// another tab) must not paint the sign-in form inside a table: go there for real instead.
let leavingForSignIn = false;
document.addEventListener("htmx:beforeSwap", (event) => {
  const url = event.detail.xhr && event.detail.xhr.responseURL;
  if (url && new URL(url).pathname.startsWith("/accounts/login/")) {
    event.detail.shouldSwap = false;
    event.preventDefault();
    if (!leavingForSignIn) {  // several polls may notice at once: navigate once
      leavingForSignIn = true;
      window.location.assign(url);
    }
  }
});

// Polls (hx-trigger="every …") are the page's own requests, not the person's: they do not keep
// an idle session alive (config.middleware.SessionIdleMiddleware).
document.addEventListener("htmx:configRequest", (event) => {
  const trigger = event.detail.elt.getAttribute("hx-trigger") || "";
  if (/\bevery\b/.test(trigger)) event.detail.headers["X-Loupe-Background"] = "1";
});
