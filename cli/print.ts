/**
 * Terminal output of a quantization run: the short summary table and the
 * worst layers.
 *
 * @module
 */

import type { QuantizeReport } from "./report.ts";

function pct(x: number | undefined): string {
  return x === undefined ? "–" : `${(x * 100).toFixed(2)} %`;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(3)} MB`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

function lpad(s: string, n: number): string {
  return s.length >= n ? s : " ".repeat(n - s.length) + s;
}

/**
 * Formats the summary a user sees after `deno task quant`.
 *
 * @example
 * ```ts ignore
 * console.log(formatSummary(report));
 * ```
 */
export function formatSummary(report: QuantizeReport, worst = 5): string {
  const r = report;
  const lines: string[] = [];
  lines.push(`Quantized ${r.model} → ${r.output}`);
  lines.push(
    `  ${r.options.method} activations (${r.options.scheme}, clamp ${r.options.featureClamp}), ` +
      `${
        r.options.perChannel ? "per-channel" : "per-tensor"
      } int8 weights, ${r.calibration.samples} calibration images`,
  );
  lines.push(
    `  prepared: ${r.prepare.batchNormsFolded} BatchNorm folded, ${r.prepare.fusions} activations fused, ` +
      `opset ${r.prepare.opsetBefore} → ${r.prepare.opsetAfter}; ${r.plan.quantizedTensors} int8 tensors, ` +
      `${r.plan.floatNodes} nodes left float`,
  );
  lines.push("");
  const rows: [string, string][] = [
    ["size", `${mb(r.size.floatBytes)} → ${mb(r.size.int8Bytes)} (${r.size.ratio.toFixed(3)}×)`],
  ];
  for (const o of r.outputs) {
    rows.push([`${o.output} cosine`, o.cosine.toFixed(5)]);
    if (o.top1Agreement !== undefined) rows.push([`${o.output} top-1 agreement`, pct(o.top1Agreement)]);
    if (o.floatAccuracy !== undefined) {
      rows.push([`${o.output} accuracy`, `${pct(o.floatAccuracy)} float → ${pct(o.int8Accuracy)} int8`]);
    }
  }
  rows.push([
    "time",
    `calibration ${(r.timings.calibrate / 1000).toFixed(2)} s (${r.calibration.passes} passes), ` +
    `evaluation ${(r.timings.evaluate / 1000).toFixed(2)} s`,
  ]);
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) lines.push(`  ${pad(k, w)}  ${v}`);
  const layers = [...r.tensors].sort((a, b) => a.cosine - b.cosine).slice(0, worst);
  if (layers.length > 0) {
    lines.push("");
    lines.push(`Worst ${layers.length} tensors by cosine (float vs int8, averaged over samples):`);
    const nameW = Math.max(6, ...layers.map((l) => l.tensor.length));
    const opW = Math.max(2, ...layers.map((l) => l.op.length));
    lines.push(`  ${pad("tensor", nameW)}  ${pad("op", opW)}  ${lpad("cosine", 8)}  ${lpad("overflow", 8)}`);
    for (const l of layers) {
      lines.push(
        `  ${pad(l.tensor, nameW)}  ${pad(l.op, opW)}  ${lpad(l.cosine.toFixed(5), 8)}  ${
          lpad((l.overflowRate * 100).toFixed(3) + "%", 8)
        }`,
      );
    }
  }
  return lines.join("\n");
}
