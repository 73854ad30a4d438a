/**
 * `deno task bench`: measures the host pipeline on the fixture models and
 * prints tables (what was measured, on what). It never asserts a speed;
 * results also go to out/bench.json.
 *
 *   deno task bench [--models a,b] [--methods KL,MINMAX,…] [--images 1000] [--batch 1] [--calib-workers 1]
 *                   [--skip-rss] [--skip-extras] [--skip-report]
 *                   [--skip-native] [--native-images 10000] [--fuzz-seconds 180] [--skip-devices]
 *   deno task bench --peers [--models a,b]   side by side with ONNX Runtime's and MNN's quantizers (bench/peers/)
 *   deno task bench --target T --device URL --model M.int8.onnx [--runs N --warmup N --threads N --pin a,b]
 *                                           the model's latency on a device (bench/device_bench.ts)
 *
 * Per model, one table of calibration methods: int8 accuracy (top-1 on the 10 000 t10k images, or
 * agreement and cosine with float on a folder), calibration seconds on N images, the seconds of
 * float inference over the same N images (plain, and with every observed tensor exposed: the
 * fair floor, see /work/shared/notes/calibration-cost.md) and their ratios, and the peak RSS of a
 * fresh process calibrating 100 and N images. Then the accuracy helpers (bias correction, ADMM
 * weights, per-tensor weights with and without cross-layer equalization). Then the native artifact
 * (bench/native_bench.ts): the C runtime's single-image latency next to ONNX Runtime int8 (QDQ) and fp32 for
 * the same model, as ratios, with its accuracy and bit-exactness; and --fuzz-seconds of libFuzzer on the
 * runtime's loader (0 skips it; crashing inputs are kept in runtime/fuzz/regressions/).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { cloneModel, decodeModel, encodeModel } from "../core/onnx/model.ts";
import {
  DEFAULT_QUANTIZE_OPTIONS,
  evaluateQuantization,
  quantizeModel,
  type QuantizeOptions,
  type QuantizeResult,
} from "../core/pipeline.ts";
import { prepareModel } from "../core/passes/mod.ts";
import { planQuantization } from "../core/quant/plan.ts";
import { type BatchSource, exposeTensors } from "../core/quant/calibrate.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { readIdxImages, readIdxLabels } from "../cli/idx.ts";
import { idxSource, imageFolderSource } from "../cli/source.ts";
import { writeFileAtomic } from "../cli/files.ts";
import { BENCH_MODELS, type BenchModel, FMNIST_DIR } from "./fixtures.ts";
import { formatTable } from "./table.ts";
import { t10kSource } from "./peers/data.ts";
import { benchCalibration } from "./calib_source.ts";
import { inferenceSeconds, measureSeconds, type Seconds } from "./timing.ts";
import { reportBench } from "./report_bench.ts";
import { spawnCalibrationWorker } from "../cli/calibration_worker.ts";
import { formatNativeBench, formatNativeFuzz, NATIVE_BENCH_MODELS, nativeBench, nativeFuzz } from "./native_bench.ts";

// --device URL --target T --model M: the latency of one int8 model on a device, alone (bench/device_bench.ts).
if (Deno.args.includes("--device")) {
  const { deviceLatencyMain } = await import("./device_bench.ts");
  Deno.exit(await deviceLatencyMain(Deno.args));
}
const { values } = parseArgs({
  args: Deno.args,
  options: {
    models: { type: "string" },
    methods: { type: "string" },
    images: { type: "string" },
    batch: { type: "string" },
    "calib-workers": { type: "string" },
    "skip-rss": { type: "boolean" },
    "skip-extras": { type: "boolean" },
    "skip-report": { type: "boolean" },
    peers: { type: "boolean" },
    "skip-native": { type: "boolean" },
    "native-images": { type: "string" },
    "fuzz-seconds": { type: "string" },
    "skip-devices": { type: "boolean" },
  },
});
if (values.peers) {
  const { peersMain } = await import("./peers/main.ts");
  Deno.exit(await peersMain({ ...(values.models ? { models: values.models.split(",") } : {}) }));
}
const models = values.models ? BENCH_MODELS.filter((m) => values.models!.split(",").includes(m.name)) : BENCH_MODELS;
const images = Number(values.images ?? 1000);
const batchSize = Number(values.batch ?? 1);
// --calib-workers N: histogram workers (QuantizeOptions.calibrationWorkers; default: 1 for large batches; 0: none)
const workerOptions = values["calib-workers"] === undefined
  ? {}
  : { calibrationWorkers: Number(values["calib-workers"]) };
const RSS_SMALL = 100;

/** One row of a table: a label and the options that differ from the defaults. */
interface Variant {
  label: string;
  options: Partial<QuantizeOptions>;
}

/** The calibration methods, each with its natural scheme (EMA is MNN's asymmetric method). */
const METHODS: Variant[] = [
  { label: "MINMAX", options: { method: "MINMAX" } },
  { label: "EMA (uint8)", options: { method: "EMA", scheme: "asymmetric-uint8" } },
  { label: "KL (1 pass)", options: { method: "KL" } },
  { label: "KL 2 passes (MNN)", options: { method: "KL", methodOptions: { klPasses: 2 } } },
  { label: "ADMM", options: { method: "ADMM" } },
  { label: "PERCENTILE", options: { method: "PERCENTILE" } },
  { label: "MSE", options: { method: "MSE" } },
];
const methodFilter = values.methods?.split(",").map((m) => m.trim().toUpperCase());
const methods = methodFilter ? METHODS.filter((v) => methodFilter.includes(v.options.method!)) : METHODS;

/** Accuracy helpers, measured against the same method without them. */
const EXTRAS: Variant[] = [
  { label: "KL, uint8 activations", options: { method: "KL", scheme: "asymmetric-uint8" } },
  { label: "MSE, uint8 activations", options: { method: "MSE", scheme: "asymmetric-uint8" } },
  { label: "KL + bias correction", options: { method: "KL", biasCorrection: true } },
  { label: "MSE + bias correction", options: { method: "MSE", biasCorrection: true } },
  { label: "KL, ADMM weights", options: { method: "KL", weightMethod: "ADMM" } },
  { label: "KL, per-tensor weights", options: { method: "KL", perChannel: false } },
  { label: "KL, per-tensor + CLE", options: { method: "KL", perChannel: false, crossLayerEqualization: true } },
  {
    label: "KL, per-tensor + CLE + bias corr.",
    options: { method: "KL", perChannel: false, crossLayerEqualization: true, biasCorrection: true },
  },
];

const pct = (x: number | undefined) => x === undefined ? "–" : `${(x * 100).toFixed(2)} %`;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const results: Record<string, unknown>[] = [];

async function evaluationSource(m: BenchModel): Promise<{ source: BatchSource; what: string }> {
  if (m.evaluation === "fmnist-t10k" && (m.spec.width !== 28 || m.spec.height !== 28)) {
    const { source } = await t10kSource(m, { batchSize: 250 }); // stretched like the calibration PNGs
    return { source, what: `10 000 t10k images stretched to ${m.spec.width}×${m.spec.height}` };
  }
  if (m.evaluation === "fmnist-t10k") {
    const images = await readIdxImages(`${FMNIST_DIR}/t10k-images-idx3-ubyte.gz`);
    const labels = await readIdxLabels(`${FMNIST_DIR}/t10k-labels-idx1-ubyte.gz`);
    return { source: idxSource(images, labels, m.input, m.spec, { batchSize: 250 }), what: "10 000 t10k images" };
  }
  const { source, files } = await imageFolderSource(m.calib, m.input, m.spec, { batchSize: 20 });
  return { source, what: `${files.length} images of ${m.calib}` };
}

/** Peak RSS and calibration seconds of a fresh process calibrating `count` images. */
async function childRun(m: BenchModel, count: number, variant: Variant): Promise<Record<string, number>> {
  const child = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL("./rss_child.ts", import.meta.url).pathname,
      m.name,
      String(count),
      JSON.stringify({ ...workerOptions, ...variant.options }),
      String(batchSize),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!child.success) throw new Error(`bench child for ${m.name} ${variant.label} (${count} images) failed`);
  return JSON.parse(new TextDecoder().decode(child.stdout));
}

/** The float floor F over the calibration images: plain model, and with every observed tensor exposed. */
async function floatFloor(m: BenchModel, floatBytes: Uint8Array, source: BatchSource) {
  const prepared = cloneModel(decodeModel(floatBytes, m.path));
  const { fusions } = prepareModel(prepared);
  const plan = planQuantization(prepared.graph, fusions, { perChannel: true, skip: [] });
  const exposed = encodeModel(exposeTensors(prepared, plan.calibrated));
  return {
    plain: await inferenceSeconds(floatBytes, source, [m.output]),
    exposed: await inferenceSeconds(exposed, source, plan.calibrated),
    tensors: plan.calibrated.length,
  };
}

async function measure(
  model: ReturnType<typeof decodeModel>,
  variant: Variant,
  calib: BatchSource,
): Promise<{ result: QuantizeResult; seconds: Seconds }> {
  let result: QuantizeResult | undefined;
  const seconds = await measureSeconds(async () => {
    result = await quantizeModel(
      model,
      calib,
      createOrtExecutor,
      { ...DEFAULT_QUANTIZE_OPTIONS, ...workerOptions, ...variant.options },
      undefined,
      { spawnCalibrationWorker },
    );
  });
  return { result: result!, seconds };
}

console.log(`# Host pipeline: quantize with each method, evaluate float vs int8 in ONNX Runtime (CPU, 1 thread)`);
console.log(
  `# machine: ${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}; ` +
    `calibration batch ${batchSize}, calibration workers ${
      workerOptions.calibrationWorkers ?? "default (1 for batches of over 2^20 values)"
    }\n`,
);
for (const m of models) {
  const floatBytes = await Deno.readFile(m.path);
  const model = decodeModel(floatBytes, m.path);
  const calib = await benchCalibration(m, images, batchSize);
  const evaluation = await evaluationSource(m);
  const labelled = m.evaluation === "fmnist-t10k";
  console.log(`## ${m.name} (${m.path})`);
  console.log(`calibration: ${calib.what} (batch ${batchSize}); evaluation: ${evaluation.what}`);

  // F before and after the methods; the smaller (faster) of the two is the floor.
  const floorBefore = await floatFloor(m, floatBytes, calib.source);
  const rows: string[][] = [];
  const measured: { variant: Variant; result: QuantizeResult; seconds: Seconds }[] = [];
  for (const variant of methods) measured.push({ variant, ...await measure(model, variant, calib.source) });
  const floorAfter = await floatFloor(m, floatBytes, calib.source);
  const least = (a: Seconds, b: Seconds) => ({ wall: Math.min(a.wall, b.wall), cpu: Math.min(a.cpu, b.cpu) });
  const floor = {
    plain: least(floorBefore.plain, floorAfter.plain),
    exposed: least(floorBefore.exposed, floorAfter.exposed),
  };
  for (const { variant, result, seconds } of measured) {
    const ev = await evaluateQuantization(result, evaluation.source, createOrtExecutor, { tensors: false });
    const out = ev.outputs.find((o) => o.output === m.output)!;
    const calibSeconds = result.timings.calibrate / 1000;
    let rss: Record<string, number>[] = [];
    if (!values["skip-rss"]) rss = [await childRun(m, RSS_SMALL, variant), await childRun(m, images, variant)];
    const passes = result.calibrationPerPass.map((p) => `${p.ranges}r+${p.values}v`).join(" / ") +
      (result.calibrationWorkers > 0 ? `, ${result.calibrationWorkers} worker` : "");
    rows.push([
      variant.label,
      labelled ? pct(out.int8Accuracy) : pct(out.top1Agreement),
      out.cosine.toFixed(5),
      passes,
      calibSeconds.toFixed(2),
      (calibSeconds / floor.exposed.wall).toFixed(2),
      (calibSeconds / floor.plain.wall).toFixed(2),
      (seconds.cpu / floor.exposed.cpu).toFixed(2),
      rss.length ? `${mib(rss[0]!.peakRssBytes!)} → ${mib(rss[1]!.peakRssBytes!)}` : "–",
    ]);
    results.push({
      section: "calibration-methods",
      model: m.name,
      variant: variant.label,
      options: variant.options,
      calibrationImages: result.calibrationSamples,
      calibrationBatch: batchSize,
      calibrationPerPass: result.calibrationPerPass,
      calibrationWorkers: result.calibrationWorkers,
      calibrationSeconds: calibSeconds,
      quantizeCpuSeconds: seconds.cpu,
      floatPlainSeconds: floor.plain.wall,
      floatExposedSeconds: floor.exposed.wall,
      floatPlainCpuSeconds: floor.plain.cpu,
      floatExposedCpuSeconds: floor.exposed.cpu,
      evaluation: evaluation.what,
      floatTop1: out.floatAccuracy,
      int8Top1: out.int8Accuracy,
      top1Agreement: out.top1Agreement,
      outputCosine: out.cosine,
      ...(rss.length ? { rssSmall: rss[0], rssLarge: rss[1] } : {}),
    });
  }
  const first = results.find((r) => r.model === m.name && r.section === "calibration-methods");
  console.log(
    `float ${labelled ? `top-1 ${pct(first?.floatTop1 as number)}` : "reference"}; ` +
      `F over the ${images} calibration images: plain ${floor.plain.wall.toFixed(2)} s ` +
      `(CPU ${floor.plain.cpu.toFixed(2)} s), ${floorBefore.tensors} observed tensors exposed ` +
      `${floor.exposed.wall.toFixed(2)} s (CPU ${floor.exposed.cpu.toFixed(2)} s)`,
  );
  console.log(formatTable(
    [
      "method",
      labelled ? "int8 top-1" : "agreement",
      "out cosine",
      "passes (r: in-graph ranges, v: values)",
      "calib s",
      "calib / F exposed",
      "calib / F plain",
      "CPU: quantize / F exposed",
      `peak RSS MiB ${RSS_SMALL} → ${images} img`,
    ],
    rows,
  ));
  console.log();

  if (values["skip-extras"]) continue;
  const extraRows: string[][] = [];
  for (const variant of EXTRAS) {
    const { result } = await measure(model, variant, calib.source);
    const ev = await evaluateQuantization(result, evaluation.source, createOrtExecutor, { tensors: false });
    const out = ev.outputs.find((o) => o.output === m.output)!;
    const eq = result.equalization;
    extraRows.push([
      variant.label,
      labelled ? pct(out.int8Accuracy) : pct(out.top1Agreement),
      labelled ? pct(out.floatAccuracy) : "–",
      out.cosine.toFixed(5),
      eq ? `${eq.pairs.length} pairs, ${eq.relu6Replaced.length} ReLU6→ReLU` : "–",
      ((result.timings.calibrate + result.timings.biasCorrection) / 1000).toFixed(2),
    ]);
    results.push({
      section: "accuracy-helpers",
      model: m.name,
      variant: variant.label,
      options: variant.options,
      floatTop1: out.floatAccuracy,
      int8Top1: out.int8Accuracy,
      top1Agreement: out.top1Agreement,
      outputCosine: out.cosine,
      equalization: eq
        ? { pairs: eq.pairs.length, relu6Replaced: eq.relu6Replaced.length, sweeps: eq.sweeps }
        : undefined,
      seconds: (result.timings.calibrate + result.timings.biasCorrection) / 1000,
    });
  }
  console.log(`accuracy helpers (${m.name}); "float" is the float model they quantize (CLE may change ReLU6 → ReLU):`);
  console.log(formatTable(
    ["variant", labelled ? "int8 top-1" : "agreement", "float top-1", "out cosine", "CLE", "calib + BC s"],
    extraRows,
  ));
  console.log();
}

// The per-layer debug report's cost against calibration (bench/report_bench.ts).
if (!values["skip-report"] && models.some((m) => m.name === "ppocr_cls")) {
  results.push(...await reportBench(["ppocr_cls"], 3));
}

// The native artifact: the C runtime next to ONNX Runtime, then fuzzing its loader (bench/native_bench.ts).
const nativeModels = models.filter((m) => NATIVE_BENCH_MODELS.includes(m.name)).map((m) => m.name);
if (!values["skip-native"] && nativeModels.length > 0) {
  const native = await nativeBench({ models: nativeModels, images: Number(values["native-images"] ?? 10000) });
  console.log(formatNativeBench(native));
  console.log();
  results.push(...native.rows.map((r) => ({ section: "native-runtime", kernels: native.kernels, ...r })));
}
const fuzzSeconds = Number(values["fuzz-seconds"] ?? 180);
if (!values["skip-native"] && fuzzSeconds > 0) {
  const fuzz = await nativeFuzz(fuzzSeconds);
  console.log(formatNativeFuzz(fuzz));
  console.log();
  results.push({ section: "native-fuzz", ...fuzz });
}

// Transports: SSH push + run + pull overhead on the loopback arm64 board, serial uploads against the paced board.
if (!values["skip-devices"]) {
  const { transportBench } = await import("./device_bench.ts");
  console.log(await transportBench());
  console.log();
}

await writeFileAtomic("out/bench.json", JSON.stringify({ date: new Date().toISOString(), results }, null, 2) + "\n");
console.log("wrote out/bench.json");
