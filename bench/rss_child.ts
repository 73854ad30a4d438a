/**
 * Child process for the memory bench: calibrates a model on N images with one method variant
 * (QuantizeOptions overrides as JSON) and prints its own peak RSS (VmHWM) and calibration time
 * as JSON. Run alone so nothing else inflates the peak. Loading the data set (the whole
 * Fashion-MNIST train file) peaks higher than calibrating, so after loading it collects garbage
 * (with --v8-flags=--expose-gc) and resets the peak (`5` to /proc/self/clear_refs, Linux): the
 * peak reported is the calibration's own.
 *
 *   deno run -A --v8-flags=--expose-gc bench/rss_child.ts MODEL N '{"method":"KL"}' [BATCH]
 *
 * @module
 */

import { decodeModel } from "../core/onnx/model.ts";
import { DEFAULT_QUANTIZE_OPTIONS, quantizeModel, type QuantizeOptions } from "../core/pipeline.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { BENCH_MODELS } from "./fixtures.ts";
import { benchCalibration } from "./calib_source.ts";
import { spawnCalibrationWorker } from "../cli/calibration_worker.ts";

function vmHwmBytes(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

const [name, count, overrides, batch] = Deno.args;
const m = BENCH_MODELS.find((b) => b.name === name);
if (!m) throw new Error(`Unknown bench model "${name}"`);
const options: QuantizeOptions = { ...DEFAULT_QUANTIZE_OPTIONS, ...JSON.parse(overrides ?? "{}") };
const { source } = await benchCalibration(m, Number(count), Number(batch ?? 1));
const model = decodeModel(await Deno.readFile(m.path), m.path);
(globalThis as { gc?: () => void }).gc?.();
try {
  Deno.writeTextFileSync("/proc/self/clear_refs", "5"); // resets VmHWM to the current RSS
} catch {
  // not Linux, or not allowed: the peak then includes loading the data
}
const before = vmHwmBytes();
const t0 = performance.now();
const result = await quantizeModel(model, source, createOrtExecutor, options, undefined, { spawnCalibrationWorker });
console.log(JSON.stringify({
  samples: result.calibrationSamples,
  seconds: (performance.now() - t0) / 1000,
  calibrationSeconds: result.timings.calibrate / 1000,
  calibrationWorkers: result.calibrationWorkers,
  peakRssBeforeBytes: before,
  peakRssBytes: vmHwmBytes(),
}));
