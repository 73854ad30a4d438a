/**
 * Child process for the memory bench: calibrates a model on the first N
 * Fashion-MNIST test images and prints its own peak RSS (VmHWM) as JSON.
 * Run alone so nothing else inflates the peak.
 *
 * @module
 */

import { decodeModel } from "../core/onnx/model.ts";
import { DEFAULT_QUANTIZE_OPTIONS, quantizeModel } from "../core/pipeline.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { readIdxImages } from "../cli/idx.ts";
import { idxSource } from "../cli/source.ts";
import { BENCH_MODELS, FMNIST_DIR } from "./fixtures.ts";

function vmHwmBytes(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

const [name, count, method] = Deno.args;
const m = BENCH_MODELS.find((b) => b.name === name)!;
const images = await readIdxImages(`${FMNIST_DIR}/t10k-images-idx3-ubyte.gz`);
const source = idxSource(images, undefined, m.input, m.spec, { batchSize: 1, count: Number(count) });
const model = decodeModel(await Deno.readFile(m.path), m.path);
const before = vmHwmBytes();
const t0 = performance.now();
const result = await quantizeModel(model, source, createOrtExecutor, {
  ...DEFAULT_QUANTIZE_OPTIONS,
  method: method ?? "KL",
});
console.log(JSON.stringify({
  samples: result.calibrationSamples,
  seconds: (performance.now() - t0) / 1000,
  peakRssBeforeBytes: before,
  peakRssBytes: vmHwmBytes(),
}));
