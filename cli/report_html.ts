/**
 * File glue of the debug report: reads the charting library from its npm
 * package for the HTML renderer, writes the report's HTML and JSON, and runs
 * the debug comparison for `deno task quant --report`.
 *
 * @module
 */

import { renderDebugHtml } from "../core/report/html.ts";
import type { ChartAssets, DebugReport } from "../core/report/mod.ts";
import { DebugSession, DEFAULT_DEBUG_OPTIONS } from "../core/debug/run.ts";
import { type Evaluation, qdqTensorName, type QuantizeResult } from "../core/pipeline.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { writeFileAtomic } from "./files.ts";

const UPLOT_DIST = new URL("../node_modules/uplot/dist/", import.meta.url);

/**
 * uPlot's script and stylesheet, from node_modules (installed by `./setup` / `deno install`).
 *
 * @example
 * ```ts
 * import { readChartAssets } from "./report_html.ts";
 * const assets = await readChartAssets();
 * assets.uplotScript.includes("uPlot"); // true
 * ```
 */
export async function readChartAssets(): Promise<ChartAssets> {
  try {
    return {
      uplotScript: await Deno.readTextFile(new URL("uPlot.iife.min.js", UPLOT_DIST)),
      uplotCss: await Deno.readTextFile(new URL("uPlot.min.css", UPLOT_DIST)),
    };
  } catch (e) {
    throw new Error(
      `Cannot read the charting library from ${UPLOT_DIST.pathname} (${(e as Error).message}); run ./setup`,
    );
  }
}

/**
 * Writes the HTML page (and the JSON report, when `jsonPath` is given), each atomically.
 *
 * @example
 * ```ts ignore
 * await writeDebugReport(report, "out/m.debug.html", "out/m.debug.json");
 * ```
 */
export async function writeDebugReport(
  report: DebugReport,
  htmlPath: string | undefined,
  jsonPath: string | undefined,
  options: { worst?: number } = {},
): Promise<void> {
  if (htmlPath) await writeFileAtomic(htmlPath, renderDebugHtml(report, await readChartAssets(), options));
  if (jsonPath) await writeFileAtomic(jsonPath, JSON.stringify(report) + "\n");
}

/**
 * The debug report of a quantization run, as `deno task quant --report` makes it: a session fed
 * by the runs the quant command's evaluation makes anyway (pass its `observe` to the evaluation),
 * with the run's own parameters (exact integer ranges); {@link finishDebugReport} completes it.
 *
 * @example
 * ```ts ignore
 * const session = debugSessionForRun(result, { model, quantized, source }, 1);
 * const evaluation = await evaluateQuantization(result, source, createOrtExecutor, {
 *   observe: (b, f, q) => session.observe(b, f, q),
 * });
 * const report = await finishDebugReport(session, evaluation);
 * ```
 */
export function debugSessionForRun(
  result: QuantizeResult,
  names: { model: string; quantized: string; source: string },
  threads: number,
): DebugSession {
  const outputs = result.prepared.graph.outputs.map((o) => o.name);
  const tensors = [...result.plan.quantized.filter((t) => !outputs.includes(t)), ...outputs];
  return new DebugSession(
    { float: result.prepared, quantized: result.quantized, names: { ...names, runtime: RUNTIME } },
    { ...DEFAULT_DEBUG_OPTIONS, threads, paramsFor: (tensor) => result.params.get(tensor) },
    { float: new Set(tensors), quant: new Set(tensors.map((t) => qdqTensorName(result.plan, t))) },
  );
}

/**
 * Finishes a {@link debugSessionForRun} session: sensitivity views, and the evaluation's output metrics.
 *
 * @example
 * ```ts ignore
 * const report = await finishDebugReport(session, evaluation);
 * ```
 */
export async function finishDebugReport(session: DebugSession, evaluation: Evaluation): Promise<DebugReport> {
  return await session.finish(
    createOrtExecutor,
    evaluation.outputs.map((o) => ({
      output: o.output,
      cosine: o.cosine,
      top1Agreement: o.top1Agreement ?? null,
      floatAccuracy: o.floatAccuracy ?? null,
      int8Accuracy: o.int8Accuracy ?? null,
      samples: o.samples,
    })),
  );
}

/** How the int8 tensors of a host debug report are produced. */
export const RUNTIME = "onnxruntime-node CPU, QDQ model as MNN's simulated model (fake-quantized in float)";
