// The workbench's JSON endpoints (submit, heartbeat, release) take a JSON body with a numeric
// lease token and answer errors in the API's shape, {"error": {"code", "detail", "field"?}}.
// htmx sends form-encoded values and leaves error answers alone, so these few calls use
// fetch; every HTML answer they bring is still swapped in by htmx (see swap.js).

function csrfToken() {
  // The same token htmx sends: base.html puts it in hx-headers on <body>.
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch {
    return "";
  }
}

// `background`: the page sent it on its own (a heartbeat), not the person: it does not keep
// an idle session alive (config.middleware.SessionIdleMiddleware).
export function postJSON(url, body, { background = false } = {}) {
  const headers = { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "text/html, application/json" };
  if (background) headers["X-Loupe-Background"] = "1";
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers,
    body: JSON.stringify(body || {}),
  });
}

// The error of a failed answer, as the API shapes it, or one made up from its status.
export async function errorOf(response) {
  try {
    const data = await response.json();
    if (data && data.error) return data.error;
  } catch {
    /* not JSON: fall through */
  }
  if (response.status === 404) return { code: "not_found", detail: "This task is no longer yours." };
  return { code: "error", detail: `The server answered ${response.status}. Try again.` };
}

// A submission's idempotency key: the server stores a resent submission once.
export function uuid4() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
