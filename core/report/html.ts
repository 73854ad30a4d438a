/**
 * The debug report as one self-contained HTML page: the report JSON, the
 * charting library (uPlot, passed in as source text) and the page script are
 * all inlined, and a Content-Security-Policy forbids any network access.
 * The layout (summary, worst-N table, per-layer sections) is rendered here
 * as plain HTML; the charts are drawn in the browser from the embedded JSON.
 *
 * @module
 */

import { CLIENT_SCRIPT } from "./_html_client.ts";
import type { DebugReport, TensorEntry, VariantMetrics } from "./schema.ts";

/** The charting library, as read from its npm package by the caller. */
export interface ChartAssets {
  /** uPlot's IIFE build (`dist/uPlot.iife.min.js`), defining the global `uPlot`. */
  uplotScript: string;
  /** uPlot's stylesheet (`dist/uPlot.min.css`). */
  uplotCss: string;
}

/** Page options. */
export interface HtmlOptions {
  /** Rows of the worst-layers table, whose sections also start open (default 10). */
  worst?: number;
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/**
 * Escapes text for HTML content and attribute values.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./html.ts";
 * escapeHtml(`<a href="x">`); // "&lt;a href=&quot;x&quot;&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

// Inline <script> content must not close the element early.
const inlineScript = (source: string) => source.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");

const num = (x: number | null | undefined, digits = 5) =>
  x === null || x === undefined || !Number.isFinite(x) ? "–" : Number(x.toPrecision(digits)).toString();
const pct = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? "–" : `${(x * 100).toFixed(x < 0.001 ? 3 : 2)} %`;
const bad = (flag: boolean) => flag ? ` class="bad"` : "";

function variant(v: VariantMetrics | undefined): string {
  if (!v) return "–";
  const extra = v.top1Agreement !== null && v.top1Agreement < 1 ? ` (top-1 ${pct(v.top1Agreement)})` : "";
  return `${num(v.cosine, 6)}${extra}`;
}

function metricList(t: TensorEntry): string {
  const rows: [string, string, boolean][] = [
    ["cosine (MNN)", `${num(t.cosine)} (min ${num(t.minCosine)})`, t.cosine < 0.99],
    ["euclidean similarity (tpu-mlir)", num(t.euclidean), t.euclidean < 0.9],
    ["SQNR (tpu-mlir)", t.sqnrDb === null ? "exact" : `${num(t.sqnrDb, 4)} dB`, (t.sqnrDb ?? Infinity) < 20],
    ["overflow rate (MNN)", pct(t.overflowRate), t.overflowRate >= 0.01],
    [
      "saturated low / high",
      `${pct(t.saturationLow)} / ${pct(t.saturationHigh)}`,
      t.saturationLow + t.saturationHigh >= 0.005,
    ],
    ["non-zero values rounded to 0", pct(t.roundedToZero), t.roundedToZero >= 0.1],
    ["int8 range", `${num(t.clipMin)} … ${num(t.clipMax)} (scale ${num(t.scale)}, zero point ${t.zeroPoint})`, false],
    ["observed range", `${num(t.observedMin)} … ${num(t.observedMax)}`, false],
    ["range / observed", t.thresholdRatio === null ? "–" : `${num(t.thresholdRatio, 3)}×`, false],
    ["weights", t.weightsPerChannel === null ? "none" : t.weightsPerChannel ? "per channel" : "per tensor", false],
    ["output cosine, only this int8", variant(t.sensitivity?.onlyThis), false],
    ["output cosine, all but this int8", variant(t.sensitivity?.allButThis), false],
  ];
  return `<dl class="metrics">${
    rows.map(([k, v, b]) => `<dt>${escapeHtml(k)}</dt><dd${bad(b)}>${escapeHtml(v)}</dd>`).join("")
  }</dl>`;
}

function adviceList(t: TensorEntry): string {
  if (t.advice.length === 0) return "";
  return `<ul class="advice">${
    t.advice.map((a) => `<li><b>${escapeHtml(a.action)}</b>: ${escapeHtml(a.message)}</li>`).join("")
  }</ul>`;
}

function layerSection(t: TensorEntry, open: boolean, rank: number): string {
  const summary =
    `${t.index}. ${escapeHtml(t.tensor)} <span class="op">${escapeHtml(t.op)}</span> — cosine ${
      num(t.cosine, 4)
    }, overflow ${pct(t.overflowRate)}, SQNR ${t.sqnrDb === null ? "exact" : num(t.sqnrDb, 3) + " dB"}` +
    ` <span class="rank">rank ${rank}</span>`;
  return `<details class="layer" id="t-${t.index}" data-index="${t.index}"${open ? " open" : ""}>` +
    `<summary>${summary}</summary>` +
    `<p class="names">node <code>${escapeHtml(t.node)}</code>, keep in float with <code>--skip ${
      escapeHtml(t.skip.join(","))
    }</code>${
      t.quantizedName !== t.tensor ? `, int8 model tensor <code>${escapeHtml(t.quantizedName)}</code>` : ""
    }</p>` +
    adviceList(t) + metricList(t) +
    `<div class="plots"><div class="hist"></div><div class="scatter"></div></div></details>`;
}

function worstTable(report: DebugReport, worst: number): string {
  const rows = report.ranking.order.slice(0, worst).map((i, r) => {
    const t = report.tensors[i]!;
    const sens = t.sensitivity;
    return `<tr><td>${r + 1}</td><td><a class="layer-link" data-index="${t.index}" href="#t-${t.index}">${
      escapeHtml(t.tensor)
    }</a></td><td>${escapeHtml(t.op)}</td><td${bad(t.cosine < 0.99)}>${num(t.cosine, 5)}</td><td${
      bad(t.overflowRate >= 0.01)
    }>${pct(t.overflowRate)}</td><td${bad(t.saturationLow + t.saturationHigh >= 0.005)}>${
      pct(t.saturationLow + t.saturationHigh)
    }</td><td>${t.sqnrDb === null ? "exact" : num(t.sqnrDb, 3)}</td><td>${num(t.euclidean, 4)}</td><td>${
      sens ? num(sens.onlyThis.cosine, 6) : "–"
    }</td><td>${sens ? num(sens.allButThis.cosine, 6) : "–"}</td><td>${
      t.advice.map((a) => escapeHtml(a.message)).join("<br>") || "–"
    }</td></tr>`;
  });
  const by = report.ranking.by === "sensitivity"
    ? "output cosine drop with only that tensor quantized (the cause, not where the error shows downstream)"
    : "cosine";
  return `<p>Ordered by ${by}.</p><table class="worst"><thead><tr><th>#</th><th>tensor</th><th>op</th>` +
    `<th>cosine</th><th>overflow</th><th>saturated</th><th>SQNR dB</th><th>euclid.</th>` +
    `<th>output cos, only this</th><th>output cos, all but this</th><th>suggested action</th></tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table>`;
}

function header(report: DebugReport): string {
  const rows: [string, string][] = [
    ["float model", report.model],
    ["int8 model", report.quantized],
    ["int8 tensors from", report.runtime],
    ["data", `${report.data.source} (${report.data.samples} samples for the tensor metrics)`],
  ];
  const d = report.device;
  if (d) {
    const us = (x: number) => x >= 1000 ? `${num(x / 1000, 4)} ms` : `${num(x, 4)} µs`;
    rows.push(["device", `${d.url} (target ${d.target})`]);
    rows.push([
      "device is",
      [d.cpuModel, d.arch, d.cores !== null ? `${d.cores} cores` : null, d.os].filter((x) => x).join(", ") ||
      "unknown",
    ]);
    rows.push([
      "latency",
      `median ${us(d.latencyUs.median)}, min ${us(d.latencyUs.min)}, p90 ${us(d.latencyUs.p90)}, ` +
      `max ${us(d.latencyUs.max)} over ${d.runs} runs after ${d.warmup} warm-ups` +
      (d.threads !== null ? `, ${d.threads} thread${d.threads === 1 ? "" : "s"}` : "") +
      (d.cycles !== null ? `; ${d.cycles} cycles per run` : "") + ` — ${d.runtime}`,
    ]);
    rows.push([
      "transfer",
      `push ${num(d.transfer.pushMs, 4)} ms (${d.transfer.bytesPushed} B), run ${num(d.transfer.runMs, 4)} ms, ` +
      `pull ${num(d.transfer.pullMs, 4)} ms (${d.transfer.bytesPulled} B)`,
    ]);
  }
  for (const o of report.outputs) {
    const acc = o.floatAccuracy !== null
      ? `; accuracy ${pct(o.floatAccuracy)} float → ${pct(o.int8Accuracy)} int8`
      : "";
    const agree = o.top1Agreement !== null ? `; top-1 agreement ${pct(o.top1Agreement)}` : "";
    rows.push([`output ${o.output}`, `cosine ${num(o.cosine, 6)}${agree}${acc} (${o.samples} samples)`]);
  }
  if (report.sensitivity) {
    const s = report.sensitivity;
    rows.push([
      "sensitivity",
      `${s.samples} samples, output ${s.output}: all int8 ${variant(s.allQuantized)}; ${s.segments} segments, ` +
      `${s.runs} runtime calls`,
    ]);
  }
  return `<table class="facts">${
    rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join("")
  }</table>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 0 16px 48px; color: #212529; }
h1 { font-size: 22px; margin: 20px 0 8px; } h2 { font-size: 18px; margin: 28px 0 8px; }
table { border-collapse: collapse; } th, td { padding: 3px 8px; text-align: left; vertical-align: top; }
table.facts th { color: #495057; font-weight: 600; white-space: nowrap; }
table.worst { width: 100%; font-size: 13px; } table.worst th { background: #f1f3f5; position: sticky; top: 0; }
table.worst tr:nth-child(even) td { background: #f8f9fa; } table.worst td:nth-child(n+4):nth-child(-n+10) { text-align: right; white-space: nowrap; }
.bad { color: #c92a2a; font-weight: 600; }
details.layer { border-top: 1px solid #dee2e6; padding: 4px 0; } details.layer summary { cursor: pointer; }
details.layer[open] summary { font-weight: 600; } .op { color: #5f3dc4; } .rank { color: #868e96; font-size: 12px; }
dl.metrics { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 8px 0; }
dl.metrics dt { color: #495057; } dl.metrics dd { margin: 0; }
.plots { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; } .plots > div { min-width: 0; }
ul.advice { margin: 6px 0; padding-left: 20px; } .notes li { color: #495057; }
#layer-chart, #sensitivity-chart { width: 100%; } code { font-size: 12px; }
`;

/**
 * Renders the report page. `assets` carries the charting library's source;
 * nothing is fetched when the page is opened.
 *
 * @example
 * ```ts ignore
 * const html = renderDebugHtml(report, {
 *   uplotScript: await Deno.readTextFile("node_modules/uplot/dist/uPlot.iife.min.js"),
 *   uplotCss: await Deno.readTextFile("node_modules/uplot/dist/uPlot.min.css"),
 * });
 * ```
 */
export function renderDebugHtml(report: DebugReport, assets: ChartAssets, options: HtmlOptions = {}): string {
  const worst = Math.min(options.worst ?? 10, report.tensors.length);
  const rankOf = new Map(report.ranking.order.map((index, r) => [index, r + 1]));
  const open = new Set(report.ranking.order.slice(0, worst));
  const sections = report.tensors.map((t) => layerSection(t, open.has(t.index), rankOf.get(t.index) ?? 0));
  const notes = [...report.notes, ...report.unmatched.map((u) => `Not compared: ${u.tensor} — ${u.reason}`)];
  const json = JSON.stringify(report).replace(/</g, "\\u003c");
  const csp = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>int8 debug report — ${escapeHtml(report.model)}</title>
<style>${assets.uplotCss.replace(/<\/style/gi, "<\\/style")}</style>
<style>${STYLE}</style>
</head>
<body>
<h1>Per-layer int8 debug report</h1>
${header(report)}
<ul class="notes">${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>
<h2>Error along the graph</h2>
<p>One point per quantized tensor, in graph order. Click a point to open that layer below.</p>
<div id="layer-chart"></div>
${report.sensitivity ? `<h2>Sensitivity</h2><div id="sensitivity-chart"></div>` : ""}
<h2>Worst ${worst} layers</h2>
${worstTable(report, worst)}
<h2>All ${report.tensors.length} quantized tensors</h2>
<p>Histogram of the float values with the int8 range (red) and the observed extremes (grey); sampled
(float, int8) value pairs against the diagonal.</p>
${sections.join("\n")}
<script type="application/json" id="report-data">${json}</script>
<script>${inlineScript(assets.uplotScript)}</script>
<script>${inlineScript(CLIENT_SCRIPT)}</script>
</body>
</html>
`;
}
