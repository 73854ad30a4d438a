/**
 * The debug report as terminal text: the end-to-end numbers, the worst
 * layers with their metrics, and one concrete action per bad layer.
 *
 * @module
 */

import type { DebugReport } from "./schema.ts";

const pad = (s: string, n: number) => s.length >= n ? s : s + " ".repeat(n - s.length);
const lpad = (s: string, n: number) => s.length >= n ? s : " ".repeat(n - s.length) + s;
const num = (x: number | null, digits: number) => x === null || !Number.isFinite(x) ? "–" : x.toFixed(digits);
const pct = (x: number | null) => x === null || !Number.isFinite(x) ? "–" : `${(x * 100).toFixed(2)}%`;

/**
 * Formats the summary printed after a debug run: the `worst` layers by the
 * report's ranking, and what to do about each one that needs it.
 *
 * @example
 * ```ts ignore
 * console.log(formatDebugSummary(report, 5));
 * ```
 */
export function formatDebugSummary(report: DebugReport, worst = 5): string {
  const lines: string[] = [];
  lines.push(`Debug report: ${report.quantized} vs ${report.model} (${report.runtime})`);
  for (const o of report.outputs) {
    const agree = o.top1Agreement !== null ? `, top-1 agreement ${pct(o.top1Agreement)}` : "";
    const acc = o.floatAccuracy !== null ? `, accuracy ${pct(o.floatAccuracy)} → ${pct(o.int8Accuracy)}` : "";
    lines.push(`  output ${o.output}: cosine ${num(o.cosine, 5)}${agree}${acc} (${o.samples} samples)`);
  }
  for (const note of report.notes) lines.push(`  note: ${note}`);
  for (const u of report.unmatched) lines.push(`  not compared: ${u.tensor} (${u.reason})`);
  const rows = report.ranking.order.slice(0, worst).map((i) => report.tensors[i]!);
  if (rows.length === 0) return lines.join("\n");
  const by = report.ranking.by === "sensitivity" ? "output cosine drop when only it is int8" : "cosine";
  lines.push("");
  lines.push(`Worst ${rows.length} of ${report.tensors.length} tensors (by ${by}):`);
  const nameW = Math.max(6, ...rows.map((t) => t.tensor.length));
  const opW = Math.max(2, ...rows.map((t) => t.op.length));
  lines.push(
    `  ${pad("tensor", nameW)}  ${pad("op", opW)}  ${lpad("cosine", 8)}  ${lpad("overflow", 8)}  ${
      lpad("SQNR dB", 7)
    }  ${lpad("only-this out cos", 17)}`,
  );
  for (const t of rows) {
    lines.push(
      `  ${pad(t.tensor, nameW)}  ${pad(t.op, opW)}  ${lpad(num(t.cosine, 5), 8)}  ${lpad(pct(t.overflowRate), 8)}  ${
        lpad(num(t.sqnrDb, 1), 7)
      }  ${lpad(t.sensitivity ? num(t.sensitivity.onlyThis.cosine, 6) : "–", 17)}`,
    );
  }
  const advised = rows.filter((t) => t.advice.length > 0);
  if (advised.length > 0) {
    lines.push("");
    lines.push("Suggested actions:");
    for (const t of advised) for (const a of t.advice) lines.push(`  ${t.tensor}: ${a.message}`);
  } else {
    lines.push("");
    lines.push("No layer stands out: every tensor is within the limits the suggestions use.");
  }
  return lines.join("\n");
}
