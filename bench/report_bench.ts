/**
 * Bench line of the per-layer debug report: for each model, the seconds of
 * calibration (default KL, the bundled images, batch 1, as `deno task quant`)
 * against the seconds `deno task quant --report` adds to make the debug
 * report: reading the evaluation's runs (tensor metrics, sample choice),
 * both sensitivity views, the HTML. Median of `repeat` runs of each.
 * Prints; never asserts.
 *
 *   deno run -A bench/report_bench.ts [--models ppocr_cls] [--repeat 3]
 *
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import { decodeModel } from "../core/onnx/model.ts";
import { DEFAULT_QUANTIZE_OPTIONS, evaluateQuantization, quantizeModel } from "../core/pipeline.ts";
import { renderDebugHtml } from "../core/report/html.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { imageFolderSource } from "../cli/source.ts";
import { debugSessionForRun, finishDebugReport, readChartAssets } from "../cli/report_html.ts";
import { BENCH_MODELS } from "./fixtures.ts";
import { formatTable } from "./table.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** Milliseconds of CPU this process has used (all threads: ONNX Runtime's too). */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Measures and prints the report-generation line for the named models; returns the results for out/bench.json.
 *
 * @example
 * ```ts ignore
 * const results = await reportBench(["ppocr_cls"], 3);
 * ```
 */
export async function reportBench(models: readonly string[], repeat: number): Promise<Record<string, unknown>[]> {
  const assets = await readChartAssets();
  const rows: string[][] = [];
  const results: Record<string, unknown>[] = [];
  console.log(
    `## Debug report generation vs calibration (KL, bundled images, batch 1, 1 thread; median of ${repeat})`,
  );
  for (const name of models) {
    const m = BENCH_MODELS.find((b) => b.name === name);
    if (!m) throw new Error(`No bench model "${name}"`);
    const model = decodeModel(await Deno.readFile(m.path), m.path);
    const calib = await imageFolderSource(m.calib, m.input, m.spec, { batchSize: 1 });
    const runs: {
      calibrate: number;
      stats: number;
      sensitivity: number;
      html: number;
      total: number;
      calibrateCpu: number;
      reportCpu: number;
    }[] = [];
    let last: { tensors: number; samples: number; segments: number; calls: number; htmlBytes: number } | undefined;
    for (let i = 0; i < repeat; i++) {
      let c0 = cpu();
      const result = await quantizeModel(model, calib.source, createOrtExecutor, DEFAULT_QUANTIZE_OPTIONS);
      const calibrateCpu = cpu() - c0;
      // As `quant --report`: the session reads the evaluation's runs; its own work is timed.
      let t0 = performance.now();
      c0 = cpu();
      const session = debugSessionForRun(result, { model: m.path, quantized: "bench", source: m.calib }, 1);
      let stats = performance.now() - t0;
      let reportCpu = cpu() - c0;
      const evaluation = await evaluateQuantization(result, calib.source, createOrtExecutor, {
        threads: 1,
        observe: (batch, float, quant) => {
          const t = performance.now(), c = cpu();
          session.observe(batch, float, quant);
          stats += performance.now() - t;
          reportCpu += cpu() - c;
        },
      });
      t0 = performance.now();
      c0 = cpu();
      const report = await finishDebugReport(session, evaluation);
      const t1 = performance.now();
      const html = renderDebugHtml(report, assets);
      const t2 = performance.now();
      reportCpu += cpu() - c0;
      runs.push({
        calibrate: result.timings.calibrate,
        stats,
        sensitivity: report.timings.sensitivityMs,
        html: t2 - t1,
        total: stats + (t2 - t0),
        calibrateCpu,
        reportCpu,
      });
      last = {
        tensors: report.tensors.length,
        samples: report.sensitivity?.samples ?? 0,
        segments: report.sensitivity?.segments ?? 0,
        calls: report.sensitivity?.runs ?? 0,
        htmlBytes: new TextEncoder().encode(html).byteLength,
      };
    }
    const med = (k: keyof (typeof runs)[number]) => median(runs.map((r) => r[k])) / 1000;
    rows.push([
      name,
      String(last!.tensors),
      med("calibrate").toFixed(2),
      med("total").toFixed(2),
      (med("total") / med("calibrate")).toFixed(2),
      `${med("calibrateCpu").toFixed(2)} / ${med("reportCpu").toFixed(2)}`,
      `${med("stats").toFixed(2)} / ${med("sensitivity").toFixed(2)} / ${med("html").toFixed(2)}`,
      `${last!.samples} samples, ${last!.segments} segments, ${last!.calls} calls`,
      (last!.htmlBytes / 1e6).toFixed(2),
    ]);
    results.push({
      section: "debug-report",
      model: name,
      tensors: last!.tensors,
      calibrationSeconds: med("calibrate"),
      reportSeconds: med("total"),
      calibrationCpuSeconds: med("calibrateCpu"),
      reportCpuSeconds: med("reportCpu"),
      statsSeconds: med("stats"),
      sensitivitySeconds: med("sensitivity"),
      htmlSeconds: med("html"),
      sensitivitySamples: last!.samples,
      segments: last!.segments,
      runtimeCalls: last!.calls,
      htmlBytes: last!.htmlBytes,
      runs,
    });
  }
  console.log(formatTable(
    [
      "model",
      "tensors",
      "calib s",
      "report s",
      "report / calib",
      "CPU s calib / report",
      "metrics / sensitivity / HTML s",
      "sensitivity views",
      "HTML MB",
    ],
    rows,
  ));
  console.log();
  return results;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { models: { type: "string" }, repeat: { type: "string" } },
  });
  await reportBench(values.models?.split(",") ?? ["ppocr_cls"], Number(values.repeat ?? 3));
}
