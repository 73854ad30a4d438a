/**
 * The side-by-side bench's printed table and the README's "How it compares"
 * section, both rendered from a {@link PeerBenchReport} (never from numbers
 * written by hand).
 *
 * @module
 */

import { formatTable } from "../table.ts";
import type { PeerBenchReport, ToolRow } from "./harness.ts";

const pct = (x: number | undefined) => (x === undefined ? "–" : `${(x * 100).toFixed(2)} %`);
const num = (x: number | undefined, digits: number) => (x === undefined ? "–" : x.toFixed(digits));
const mib = (bytes: number | undefined) => (bytes === undefined ? "–" : (bytes / 2 ** 20).toFixed(1));
const kb = (bytes: number | undefined) => (bytes === undefined ? "–" : (bytes / 1024).toFixed(0));
const times = (x: number | undefined) => (x === undefined ? "–" : `${x.toFixed(2)}×`);
const signed = (x: number | undefined) => (x === undefined ? "–" : `${x >= 0 ? "+" : ""}${x.toFixed(2)}`);

/** The label of a row's method, e.g. `KL` or `KL→EMA` when the tool switched methods. */
function methodLabel(r: ToolRow): string {
  return r.methodUsed && r.methodUsed !== r.method ? `${r.method}→${r.methodUsed}` : r.method;
}

/**
 * The bench's printed output: one table over every model and tool (metrics, quantization wall time, peak RSS,
 * sizes, and ours-with-KL ÷ each peer), then the errors of failed rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPeerReport } from "./format.ts";
 * const text = formatPeerReport({
 *   date: "2025-01-01T00:00:00Z",
 *   machine: { os: "linux", arch: "x86_64", cpu: "cpu", cores: 2, memoryGiB: 8 },
 *   versions: {},
 *   notes: [],
 *   models: [],
 *   failures: [],
 * });
 * assert.match(text, /tool\s+method/);
 * ```
 */
export function formatPeerReport(report: PeerBenchReport): string {
  const lines: string[] = [];
  const v = report.versions;
  lines.push(
    `# Side by side: this project vs ONNX Runtime's quantize_static vs MNN's mnnquant (same tensors, same machine)`,
  );
  lines.push(
    `# machine: ${report.machine.os}/${report.machine.arch}, ${report.machine.cpu}, ${report.machine.cores} cores, ` +
      `${report.machine.memoryGiB} GiB; ours ${v.ours ?? "?"} (onnxruntime-node ${v["onnxruntime-node"] ?? "?"}), ` +
      `onnxruntime ${v.onnxruntime ?? "?"}, MNN ${v.MNN ?? "?"}, Python ${v.python ?? "?"}`,
  );
  for (const note of report.notes) lines.push(`# ${note}`);
  lines.push("");
  for (const m of report.models) {
    const diffs = Object.entries(m.floatCheck.maxAbsDiff)
      .filter(([tool]) => tool !== "ours")
      .map(([tool, d]) => `${tool} ${d!.toExponential(1)}`)
      .join(", ");
    const pre = m.floatCheck.mnnCalibrationPreprocess;
    lines.push(
      `## ${m.model}: calibration ${m.calibration.source}; evaluation ${m.evaluation.what}; metric ${m.metric}`,
    );
    lines.push(
      `   float check vs ours (max |Δ|, limit ${m.floatCheck.tolerance}): ${diffs || "–"}` +
        (pre === undefined ? "" : `; mnnquant's own preprocessing of the calibration PNGs vs our tensors: ` +
          `max ${pre.maxPixelLevels} pixel level(s), ${(pre.differingShare * 100).toFixed(2)} % of values differ`),
    );
    const picked = m.selection.candidates
      .map((c) => (c.error ? `${c.method} failed` : `${c.method} ${num(c.outputCosine, 5)}`))
      .join(", ");
    lines.push(`   ours' best non-KL method: ${m.selection.chosen} (output cosine on calibration images: ${picked})`);
    for (const note of m.notes) lines.push(`   note: ${note}`);
  }
  lines.push("");
  const rows: string[][] = [];
  for (const m of report.models) {
    const oursKl = m.ratios.filter((r) => r.ours === "KL");
    for (const r of m.rows) {
      const ratio = oursKl.find((x) => x.peer === `${r.tool} ${r.method}`);
      if (r.status === "failed") {
        rows.push([m.model, r.tool, methodLabel(r), "FAILED", ...new Array<string>(15).fill("–")]);
        continue;
      }
      rows.push([
        m.model,
        r.tool,
        methodLabel(r),
        "ok",
        pct(r.floatMetric),
        pct(r.int8Metric),
        num(r.dropPoints, 2),
        pct(r.agreement),
        num(r.quantizeSeconds, 2),
        num(r.processSeconds, 2),
        mib(r.peakRssBytes),
        kb(r.int8Bytes),
        num(r.sizeRatio, 3),
        r.weightOps === undefined ? "–" : `${r.int8WeightOps}/${r.weightOps}`,
        times(ratio?.quantizeTime),
        times(ratio?.peakRss),
        times(ratio?.int8Size),
        signed(ratio?.dropDeltaPoints),
        r.threads ?? "–",
      ]);
    }
  }
  lines.push(formatTable(
    [
      "model",
      "tool",
      "method",
      "status",
      "float",
      "int8",
      "drop pts",
      "agreement",
      "quant s",
      "process s",
      "peak MiB",
      "int8 KB",
      "size ratio",
      "int8 W",
      "oursKL÷ time",
      "÷ RSS",
      "÷ size",
      "Δ drop pts",
      "threads",
    ],
    rows,
  ));
  lines.push(
    "float / int8: top-1 accuracy in the tool's own runtime; size ratio: int8 file / the tool's float file; " +
      "int8 W: Conv/Gemm/MatMul with int8 weights / all (ONNX outputs only); " +
      "oursKL÷: ours with KL divided by that row (time = quant s); Δ drop: ours-KL drop minus that row's drop " +
      "(negative = ours loses less).",
  );
  if (report.failures.length > 0) {
    lines.push("", "FAILED:");
    for (const f of report.failures) lines.push(`- ${f}`);
  }
  return lines.join("\n");
}

/** Markers around the generated section in README.md. */
export const README_MARKERS = {
  start: "<!-- how-it-compares:start (generated by deno task readme-compare from out/bench-peers.json) -->",
  end: "<!-- how-it-compares:end -->",
} as const;

/**
 * The README's "How it compares" body (between the markers) from a bench report: per model, each tool's int8
 * accuracy and drop, quantization time, peak RSS and int8 size, with the machine and versions it ran on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderComparisonSection } from "./format.ts";
 * const md = renderComparisonSection({
 *   date: "2025-01-01T00:00:00Z",
 *   machine: { os: "linux", arch: "x86_64", cpu: "cpu", cores: 2, memoryGiB: 8 },
 *   versions: {},
 *   notes: [],
 *   models: [],
 *   failures: [],
 * });
 * assert.match(md, /deno task bench --peers/);
 * ```
 */
export function renderComparisonSection(report: PeerBenchReport): string {
  const v = report.versions;
  const out: string[] = [];
  out.push(
    `Measured by \`./deno task bench --peers\` on ${report.date.slice(0, 10)} (${report.machine.cpu}, ` +
      `${report.machine.cores} cores; ours ${v.ours ?? "?"}, onnxruntime ${v.onnxruntime ?? "?"}, ` +
      `MNN ${v.MNN ?? "?"}): every tool quantizes the same float model from the same calibration tensors, and ` +
      `each int8 model is scored in its tool's own runtime on the same evaluation tensors, after the float ` +
      `outputs of all runtimes were checked to agree within ${report.models[0]?.floatCheck.tolerance ?? 1e-4}. ` +
      `Quantization time and peak RSS are per process (GNU time). Set-up: \`scripts/peers/setup\`; ` +
      `all numbers and settings: \`out/bench-peers.json\`.`,
  );
  out.push("");
  out.push("| model | tool | method | float top-1 | int8 top-1 | drop (pts) | quantize s | peak RSS MiB | int8 KB |");
  out.push("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const m of report.models) {
    for (const r of m.rows) {
      const tool = r.tool === "ours" ? "**this project**" : r.tool;
      if (r.status === "failed") {
        out.push(`| ${m.model} | ${tool} | ${methodLabel(r)} | failed | – | – | – | – | – |`);
        continue;
      }
      out.push(
        `| ${m.model} | ${tool} | ${methodLabel(r)} | ${pct(r.floatMetric)} | ${pct(r.int8Metric)} | ` +
          `${num(r.dropPoints, 2)} | ${num(r.quantizeSeconds, 2)} | ${mib(r.peakRssBytes)} | ${kb(r.int8Bytes)} |`,
      );
    }
  }
  // The same fact on several models is listed once, naming them.
  const notes = new Map<string, string[]>();
  for (const m of report.models) for (const n of m.notes) notes.set(n, [...(notes.get(n) ?? []), m.model]);
  if (notes.size + report.failures.length > 0) out.push("");
  for (const [n, models] of notes) out.push(`- ${models.join(", ")}: ${n}.`);
  for (const f of report.failures) out.push(`- failed: ${f.split("\n")[0]}`);
  return out.join("\n");
}

/**
 * Replaces the text between the README markers with `body`; throws if the markers are missing or out of order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { README_MARKERS, replaceBetweenMarkers } from "./format.ts";
 * const doc = `a\n${README_MARKERS.start}\nold\n${README_MARKERS.end}\nb`;
 * assert.equal(replaceBetweenMarkers(doc, "new"), `a\n${README_MARKERS.start}\n\nnew\n\n${README_MARKERS.end}\nb`);
 * ```
 */
export function replaceBetweenMarkers(readme: string, body: string): string {
  const start = readme.indexOf(README_MARKERS.start);
  const end = readme.indexOf(README_MARKERS.end);
  if (start < 0 || end < start) {
    throw new Error(`README.md has no "${README_MARKERS.start}" … "${README_MARKERS.end}" markers, in that order`);
  }
  return readme.slice(0, start + README_MARKERS.start.length) + "\n\n" + body + "\n\n" + readme.slice(end);
}
