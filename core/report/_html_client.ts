/**
 * The script the HTML report runs in the browser: it reads the report JSON
 * embedded in the page and draws the charts with uPlot (inlined beside it).
 * Plain ES2020, no imports, no network.
 *
 * @module
 */

/** Browser-side code of the report page (see html.ts). */
export const CLIENT_SCRIPT = String.raw`
"use strict";
(function () {
  const report = JSON.parse(document.getElementById("report-data").textContent);
  const tensors = report.tensors;
  const charts = {};
  window.int8Debug = { report, charts };
  const sync = uPlot.sync("layers");
  const width = (el) => Math.max(320, Math.floor(el.getBoundingClientRect().width || 800));
  const fmt = (v, d) => v === null || v === undefined || !Number.isFinite(v) ? "–" : Number(v.toPrecision(d || 5)).toString();

  function openLayer(index, scroll) {
    const el = document.getElementById("t-" + index);
    if (!el) return;
    el.open = true;
    drawLayer(el);
    if (scroll) el.scrollIntoView({ block: "start" });
  }

  // Per-layer cosine / overflow / SQNR along the graph order: one point per quantized tensor.
  function drawLayerChart() {
    const el = document.getElementById("layer-chart");
    const xs = tensors.map((t) => t.index);
    const data = [
      xs,
      tensors.map((t) => t.cosine),
      tensors.map((t) => t.overflowRate * 100),
      tensors.map((t) => t.sqnrDb),
    ];
    const opts = {
      width: width(el),
      height: 320,
      cursor: { sync: { key: sync.key }, drag: { x: true, y: false } },
      scales: { x: { time: false }, pct: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [
        { label: "quantized tensor (graph order)" },
        { scale: "cos", label: "cosine (float vs int8)", size: 70, values: (u, v) => v.map((x) => x.toFixed(3)) },
        { scale: "db", side: 1, label: "SQNR dB", grid: { show: false }, size: 50 },
        { scale: "pct", side: 1, label: "overflow %", grid: { show: false }, size: 60 },
      ],
      series: [
        { label: "tensor", value: (u, v) => v === null ? "–" : v + " " + tensors[v].tensor },
        { label: "cosine", scale: "cos", stroke: "#1f5fbf", width: 1.5, points: { show: true, size: 5 }, value: (u, v) => fmt(v) },
        { label: "overflow %", scale: "pct", stroke: "#d9480f", width: 1, points: { show: true, size: 4 }, value: (u, v) => fmt(v, 3) },
        { label: "SQNR dB", scale: "db", stroke: "#2b8a3e", width: 1, dash: [4, 3], points: { show: false }, value: (u, v) => fmt(v, 3) },
      ],
    };
    const u = new uPlot(opts, data, el);
    charts.layers = u;
    el.dataset.points = String(u.data[0].length);
    u.over.addEventListener("click", () => {
      if (u.cursor.idx !== null && u.cursor.idx !== undefined) openLayer(u.data[0][u.cursor.idx], true);
    });
  }

  // Output cosine drop with only this tensor quantized, and the change with all but this one quantized.
  function drawSensitivityChart() {
    const el = document.getElementById("sensitivity-chart");
    if (!el || !report.sensitivity) return;
    const all = report.sensitivity.allQuantized.cosine;
    const data = [
      tensors.map((t) => t.index),
      tensors.map((t) => t.sensitivity ? 1 - t.sensitivity.onlyThis.cosine : null),
      tensors.map((t) => t.sensitivity ? t.sensitivity.allButThis.cosine - all : null),
    ];
    const u = new uPlot({
      width: width(el),
      height: 220,
      cursor: { sync: { key: sync.key } },
      scales: { x: { time: false } },
      axes: [
        { label: "quantized tensor (graph order)" },
        { label: "output cosine change", size: 80, values: (u, v) => v.map((x) => x.toExponential(1)) },
      ],
      series: [
        { label: "tensor", value: (u, v) => v === null ? "–" : v + " " + tensors[v].tensor },
        { label: "1 − only this int8", stroke: "#c92a2a", width: 1.5, points: { show: true, size: 4 }, value: (u, v) => fmt(v, 3) },
        { label: "all but this int8 − all int8", stroke: "#5f3dc4", width: 1, points: { show: true, size: 4 }, value: (u, v) => fmt(v, 3) },
      ],
    }, data, el);
    charts.sensitivity = u;
    u.over.addEventListener("click", () => {
      if (u.cursor.idx !== null && u.cursor.idx !== undefined) openLayer(u.data[0][u.cursor.idx], true);
    });
  }

  // Vertical marker lines drawn over a plot (thresholds, observed extremes).
  function markers(lines) {
    return (u) => {
      const ctx = u.ctx;
      ctx.save();
      for (const m of lines) {
        if (!Number.isFinite(m.x)) continue;
        const x = Math.round(u.valToPos(m.x, "x", true));
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
        ctx.strokeStyle = m.color;
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.setLineDash(m.dash ? [5 * devicePixelRatio, 4 * devicePixelRatio] : []);
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
      }
      ctx.restore();
    };
  }

  function drawHistogram(t, el) {
    const h = t.histogram;
    const n = h.counts.length;
    if (n === 0) {
      el.textContent = "no values";
      return;
    }
    const w = (h.max - h.min) / n;
    const xs = h.counts.map((_, i) => h.min + (i + 0.5) * w);
    const ys = h.counts.map((c) => c > 0 ? c : null);
    const lo = h.min >= 0 ? Math.min(h.min, Math.max(t.clipMin, h.min)) : Math.min(h.min, t.clipMin);
    const hi = h.max <= 0 ? Math.max(h.max, Math.min(t.clipMax, h.max)) : Math.max(h.max, t.clipMax);
    const pad = (hi - lo) * 0.02 || 1e-6;
    const logY = h.counts.some((c) => c > 1);
    charts["hist-" + t.index] = new uPlot({
      width: width(el),
      height: 220,
      title: "float values; red: int8 range, grey: observed extremes",
      legend: { show: false },
      scales: { x: { time: false, range: [lo - pad, hi + pad] }, y: logY ? { distr: 3 } : {} },
      axes: [{ label: t.tensor }, { label: "count", size: 60 }],
      series: [{}, {
        stroke: "#1f5fbf",
        fill: "rgba(31,95,191,0.35)",
        paths: uPlot.paths.bars({ size: [1, Infinity], gap: 0 }),
        points: { show: false },
      }],
      hooks: {
        draw: [markers([
          { x: t.clipMin, color: "#c92a2a", dash: true },
          { x: t.clipMax, color: "#c92a2a", dash: true },
          { x: t.observedMin, color: "#868e96" },
          { x: t.observedMax, color: "#868e96" },
        ])],
      },
    }, [xs, ys], el);
  }

  function drawScatter(t, el) {
    const s = t.scatter;
    if (s.float.length === 0) {
      el.textContent = "no values";
      return;
    }
    charts["scatter-" + t.index] = new uPlot({
      width: width(el),
      height: 220,
      title: "sampled values: int8 (dequantized) vs float",
      legend: { show: false },
      scales: { x: { time: false } },
      axes: [{ label: "float" }, { label: "int8", size: 60 }],
      series: [{}, { stroke: "#d9480f", paths: () => null, points: { show: true, size: 4, fill: "#d9480f" } }, {
        stroke: "#adb5bd",
        width: 1,
        points: { show: false },
      }],
    }, [s.float, s.quantized, s.float], el);
  }

  function drawLayer(details) {
    if (details.dataset.drawn) return;
    details.dataset.drawn = "1";
    const t = tensors[Number(details.dataset.index)];
    drawHistogram(t, details.querySelector(".hist"));
    drawScatter(t, details.querySelector(".scatter"));
  }

  drawLayerChart();
  drawSensitivityChart();
  for (const d of document.querySelectorAll("details.layer")) {
    d.addEventListener("toggle", () => d.open && drawLayer(d));
    if (d.open) drawLayer(d);
  }
  for (const a of document.querySelectorAll("a.layer-link")) {
    a.addEventListener("click", () => openLayer(Number(a.dataset.index), false));
  }
  if (location.hash.startsWith("#t-")) openLayer(Number(location.hash.slice(3)), true);
  document.body.dataset.ready = "1";
})();
`;
