// What the screen tells the associate outside its own controls: the alert line (errors, a
// lost lease) and the SLA countdown in the header, ticking every second.
import { $ } from "./dom.js";

export function showAlert(message) {
  const alert = $("#wb-alert");
  if (!alert) return;
  alert.textContent = message;
  alert.hidden = !message;
}

function clock(seconds) {
  const s = Math.floor(Math.abs(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export function tickSla() {
  const sla = $("#wb-sla");
  if (!sla) return;
  const left = (Date.parse(sla.dataset.due) - Date.now()) / 1000;
  const atRisk = Number(sla.dataset.atRisk || 300);
  sla.textContent = left >= 0 ? `${clock(left)} left` : `breached ${clock(left)} ago`;
  sla.className = `sla ${left < 0 ? "breached" : left <= atRisk ? "at-risk" : "ok"}`;
}

let slaTimer = null;

export function startSla() {
  stopSla();
  tickSla();
  slaTimer = window.setInterval(tickSla, 1000);
}

export function stopSla() {
  if (slaTimer) window.clearInterval(slaTimer);
  slaTimer = null;
}
