// Charts of the supervisor's console and the calibration page (Chart.js, vendored in
// static/vendor). Data comes from JSON: the console's charts endpoint (data-source on
// #charts) and the calibration page's <script type="application/json"> island. No inline
// scripts or styles (CSP); Chart.js draws on canvas.
"use strict";

(() => {
  const COLORS = ["#1d4ed8", "#b45309", "#15803d", "#7c3aed", "#be123c", "#0e7490", "#4d7c0f", "#a21caf"];
  const REFRESH_MS = 15000;

  const hhmm = (iso) => {
    const date = new Date(iso);
    return `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
  };

  const baseOptions = (yTitle) => ({
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: "index", intersect: false },
    plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
    scales: { y: { beginAtZero: true, title: { display: Boolean(yTitle), text: yTitle } } },
  });

  function turnaroundData(data) {
    const points = data.turnaround || [];
    const labels = points.map((p) => hhmm(p.at));
    const toMin = (s) => (s === null || s === undefined ? null : s / 60);
    const datasets = [
      { label: "p50", data: points.map((p) => toMin(p.p50)), borderColor: COLORS[0], backgroundColor: COLORS[0], tension: 0.2 },
      { label: "p95", data: points.map((p) => toMin(p.p95)), borderColor: COLORS[1], backgroundColor: COLORS[1], tension: 0.2 },
    ];
    if (data.sla_s) {
      datasets.push({
        label: "SLA",
        data: points.map(() => data.sla_s / 60),
        borderColor: "#b91c1c",
        backgroundColor: "#b91c1c",
        borderDash: [6, 4],
        pointRadius: 0,
      });
    }
    return { labels, datasets };
  }

  function depthData(data) {
    const series = data.depth || {};
    const stamps = [...new Set(Object.values(series).flat().map((p) => p.at))].sort();
    const datasets = Object.entries(series).map(([name, points], index) => {
      const byAt = new Map(points.map((p) => [p.at, p.depth]));
      const color = COLORS[index % COLORS.length];
      return { label: name, data: stamps.map((at) => (byAt.has(at) ? byAt.get(at) : null)), borderColor: color, backgroundColor: color, pointRadius: 0, spanGaps: true };
    });
    return { labels: stamps.map(hhmm), datasets };
  }

  function associatesData(data) {
    const rows = data.associates || [];
    return {
      labels: rows.map((r) => r.associate),
      datasets: [{ label: "Tasks, last 24 h", data: rows.map((r) => r.last_day), backgroundColor: COLORS[0] }],
    };
  }

  // A chart with nothing to draw shows its note (#<id>-empty) over a hidden canvas, not a
  // blank grid that reads as "zero".
  const hasPoints = (data) => data.datasets.some((set) => set.data.some((value) => value !== null && value !== undefined));
  const showEmpty = (id, empty) => {
    const canvas = document.getElementById(id);
    const note = document.getElementById(`${id}-empty`);
    if (canvas && note) {
      canvas.parentElement.classList.toggle("is-empty", empty);
      note.hidden = !empty;
    }
  };

  function consoleCharts(root) {
    const charts = {};
    const make = (id, type, data, yTitle) => {
      const canvas = document.getElementById(id);
      if (canvas) {
        charts[id] = new window.Chart(canvas, { type, data, options: baseOptions(yTitle) });
        showEmpty(id, !hasPoints(data));
      }
    };
    const update = (id, data) => {
      const chart = charts[id];
      if (chart) {
        chart.data.labels = data.labels;
        chart.data.datasets = data.datasets;
        chart.update("none");
        showEmpty(id, !hasPoints(data));
      }
    };
    let first = true;
    const load = () =>
      fetch(root.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
        .then((data) => {
          if (first) {
            make("chart-turnaround", "line", turnaroundData(data), "minutes");
            make("chart-depth", "line", depthData(data), "tasks waiting");
            make("chart-associates", "bar", associatesData(data), "tasks");
            first = false;
          } else {
            update("chart-turnaround", turnaroundData(data));
            update("chart-depth", depthData(data));
            update("chart-associates", associatesData(data));
          }
          root.dataset.loaded = data.generated_at;
        })
        .catch(() => {}); // the next round tries again; the htmx panels show the figures anyway
    load();
    window.setInterval(load, REFRESH_MS);
  }

  function reliabilityChart(island) {
    const canvas = document.getElementById("chart-reliability");
    if (!canvas) {
      return;
    }
    const data = JSON.parse(island.textContent);
    const datasets = [
      { label: "perfectly calibrated", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], borderColor: "#9ca3af", borderDash: [5, 4], pointRadius: 0, showLine: true },
    ];
    Object.entries(data.reliability || {}).forEach(([version, buckets], index) => {
      const color = COLORS[index % COLORS.length];
      datasets.push({
        label: version === "all" ? "all versions" : version,
        data: buckets.map((b) => ({ x: b.confidence, y: b.accuracy })),
        borderColor: color,
        backgroundColor: color,
        showLine: true,
        borderWidth: version === "all" ? 3 : 1.5,
      });
    });
    const options = baseOptions("accuracy");
    options.interaction = { mode: "nearest", intersect: true };
    options.scales = {
      x: { type: "linear", min: 0, max: 1, title: { display: true, text: "model confidence" } },
      y: { min: 0, max: 1, title: { display: true, text: "share judged right" } },
    };
    new window.Chart(canvas, { type: "scatter", data: { datasets }, options });
  }

  function start() {
    if (!window.Chart) {
      return;
    }
    const root = document.getElementById("charts");
    if (root && root.dataset.source) {
      consoleCharts(root);
    }
    const island = document.getElementById("calibration-data");
    if (island) {
      reliabilityChart(island);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
