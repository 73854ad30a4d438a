/**
 * The side-by-side bench: for each bench model, this project (KL and the best
 * other registered method), ONNX Runtime's quantize_static (QDQ, per-channel,
 * Entropy and MinMax) and MNN's mnnconvert + mnnquant (KL) — same model, same
 * calibration tensors, same evaluation tensors, same machine, same run.
 *
 * Order of work per model: write the shared tensors (data.ts); run the float
 * model in every tool's own runtime and require the outputs to agree with ours
 * to {@link FLOAT_TOLERANCE} before any int8 number of that tool is reported;
 * quantize each tool in its own process under GNU time (wall time, peak RSS);
 * evaluate each int8 model in its tool's runtime (ours and ONNX Runtime's in
 * ONNX Runtime, MNN's in MNN) and score every tool's outputs with the same code.
 * A tool that fails becomes a failed row carrying its error text — never a
 * skipped column.
 *
 * @module
 */

import { join } from "node:path";
import { calibrators } from "../../core/calib/mod.ts";
import type { CalibratorFactory } from "../../core/calib/mod.ts";
import { OutputMetricsAccumulator } from "../../core/metrics/accumulate.ts";
import { decodeModel } from "../../core/onnx/model.ts";
import { DEFAULT_QUANTIZE_OPTIONS, evaluateQuantization, quantizeModel } from "../../core/pipeline.ts";
import type { BatchSource } from "../../core/quant/calibrate.ts";
import { createOrtExecutor } from "../../targets/ort.ts";
import type { BenchModel } from "../fixtures.ts";
import { type PeerData, preparePeerData } from "./data.ts";
import { MeasuredRunError, runMeasured } from "./measure.ts";
import { int8Weights } from "./inspect.ts";
import { decodeNpy } from "./npy.ts";

/** Largest |float output difference| allowed between a peer's runtime and ours before its int8 numbers count. */
export const FLOAT_TOLERANCE = 1e-4;

/**
 * Largest difference, in 8-bit pixel levels, allowed between what mnnquant computes from the calibration PNGs and
 * our calibration tensors: MNN's ImageProcess resamples bilinearly even at the same size, through a matrix fitted
 * in float, which can round a value one level off.
 */
export const MNN_PREPROCESS_LEVELS = 1;

/** The repository root (bench/peers/ → ../../). */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname;

/** Tools in the table, in order. */
export type ToolName = "ours" | "onnxruntime" | "MNN";

/** One tool × method on one model: every number the bench measured, or the error that stopped it. */
export interface ToolRow {
  tool: ToolName;
  /** The configured calibration method (ours: registry name; onnxruntime: CalibrationMethod; MNN: feature method). */
  method: string;
  /** The method the tool actually used, when it differs (mnnquant switches KL to EMA on graphs with BatchNorm). */
  methodUsed?: string;
  status: "ok" | "failed";
  /** Why the row failed: the tool's own error text. */
  error?: string;
  /** Float / int8 top-1 accuracy against the labels, each in the tool's own runtime. */
  floatMetric?: number;
  int8Metric?: number;
  /** floatMetric − int8Metric, in percentage points. */
  dropPoints?: number;
  /** Share of samples where int8 and float pick the same class. */
  agreement?: number;
  /** Mean per-sample cosine of int8 vs float outputs. */
  cosine?: number;
  /** max |float output − our float output| over the evaluation set. */
  floatMaxAbsDiff?: number;
  /** Wall time of the tool's ONNX → int8 conversion, timed inside its process (calibration included). */
  quantizeSeconds?: number;
  /** Wall time of the whole quantizing process (runtime start-up included), from GNU time. */
  processSeconds?: number;
  /** Peak RSS of the quantizing process, from GNU time. */
  peakRssBytes?: number;
  /** The tool's float model file (ONNX for ours and onnxruntime, converted .mnn for MNN) and its int8 file. */
  floatBytes?: number;
  int8Bytes?: number;
  /** int8Bytes / floatBytes. */
  sizeRatio?: number;
  /** ONNX tools: Conv/ConvTranspose/Gemm/MatMul nodes with constant weights, and how many of them are int8. */
  weightOps?: number;
  int8WeightOps?: number;
  calibrationSamples?: number;
  /** Threads the tool calibrates with. */
  threads?: string;
  /** The tool's settings, in its own terms. */
  settings?: string;
}

/** Ours (one method) against one peer row on one model. */
export interface PeerRatio {
  ours: string;
  peer: string;
  /** ours / peer. */
  quantizeTime: number;
  processTime: number;
  peakRss: number;
  int8Size: number;
  /** ours drop − peer drop, in points (negative: ours loses less). */
  dropDeltaPoints: number;
}

/** How "the best other method" of ours was picked. */
export interface MethodSelection {
  criterion: string;
  candidates: { method: string; outputCosine?: number; agreement?: number; error?: string }[];
  chosen: string;
}

/** Everything measured on one model. */
export interface ModelReport {
  model: string;
  path: string;
  metric: string;
  calibration: { samples: number; source: string };
  evaluation: { samples: number; what: string };
  floatCheck: {
    tolerance: number;
    /** max |float output − ours| per tool's runtime, on the evaluation tensors. */
    maxAbsDiff: Partial<Record<ToolName, number>>;
    /**
     * MNN's own preprocessing of the calibration PNGs (what mnnquant computes) vs our calibration tensors:
     * largest difference, the same in 8-bit pixel levels, and the share of values that differ.
     */
    mnnCalibrationPreprocess?: { maxAbsDiff: number; maxPixelLevels: number; differingShare: number };
  };
  selection: MethodSelection;
  /** Facts found while measuring that a reader needs to read the numbers (e.g. a tool left weights in float). */
  notes: string[];
  rows: ToolRow[];
  ratios: PeerRatio[];
}

/** The whole run, as written to out/bench-peers.json. */
export interface PeerBenchReport {
  date: string;
  machine: { os: string; arch: string; cpu: string; cores: number; memoryGiB: number };
  versions: Record<string, string>;
  notes: string[];
  models: ModelReport[];
  /** "tool method on model: error" for every failed row; the bench exits non-zero when not empty. */
  failures: string[];
}

/** Options of {@link runPeerBench}. */
export interface PeerBenchOptions {
  models: BenchModel[];
  /** Where tensors and models are written (one folder per model). */
  outDir: string;
  /** Evaluate on the first N evaluation samples only (the test's short run). */
  evalLimit?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** The peers' set-up is missing or older than scripts/peers/requirements.txt. */
export class PeersNotInstalledError extends Error {
  /** Creates the error; the message says which command fixes it. */
  constructor(why: string) {
    super(`${why}: run scripts/peers/setup (creates .venv-peers/ with the pinned ONNX Runtime and MNN from PyPI)`);
    this.name = "PeersNotInstalledError";
  }
}

/**
 * The peers' Python interpreter, after checking that .venv-peers/ holds exactly the pinned set
 * (scripts/peers/setup stamps the requirements' SHA-256). Throws {@link PeersNotInstalledError} otherwise.
 *
 * @example
 * ```ts ignore
 * const python = await peerPython(); // ".../.venv-peers/bin/python"
 * ```
 */
export async function peerPython(root: string = REPO_ROOT): Promise<string> {
  const requirements = await Deno.readFile(join(root, "scripts/peers/requirements.txt"));
  const want = await sha256Hex(requirements);
  let have: string | undefined;
  try {
    have = (await Deno.readTextFile(join(root, ".venv-peers/.requirements.sha256"))).trim();
  } catch {
    have = undefined;
  }
  if (have === undefined) throw new PeersNotInstalledError("The peer quantizers are not installed");
  if (have !== want) throw new PeersNotInstalledError("The peers' venv predates scripts/peers/requirements.txt");
  return join(root, ".venv-peers/bin/python");
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The best non-KL method of ours on this model: every distinct calibrator in the registry (aliases counted
 * once) quantizes the model, and the one whose int8 outputs are closest to float on the calibration images
 * (mean output cosine; the evaluation set plays no part) wins.
 *
 * @example
 * ```ts ignore
 * const selection = await selectOtherMethod(model, calibSource);
 * console.log(selection.chosen);
 * ```
 */
export async function selectOtherMethod(m: BenchModel, calib: BatchSource): Promise<MethodSelection> {
  const seen = new Set<CalibratorFactory>([calibrators.KL!]);
  const names: string[] = [];
  for (const [name, factory] of Object.entries(calibrators)) {
    if (!seen.has(factory)) names.push(name);
    seen.add(factory);
  }
  const model = decodeModel(await Deno.readFile(m.path), m.path);
  const candidates: MethodSelection["candidates"] = [];
  for (const method of names) {
    try {
      const result = await quantizeModel(model, calib, createOrtExecutor, { ...DEFAULT_QUANTIZE_OPTIONS, method });
      const ev = await evaluateQuantization(result, calib, createOrtExecutor, { tensors: false });
      const out = ev.outputs.find((o) => o.output === m.output)!;
      candidates.push({
        method,
        outputCosine: out.cosine,
        ...(out.top1Agreement !== undefined ? { agreement: out.top1Agreement } : {}),
      });
    } catch (e) {
      candidates.push({ method, error: (e as Error).message });
    }
  }
  const ok = candidates.filter((c) => c.outputCosine !== undefined);
  if (ok.length === 0) {
    throw new Error(
      `No method other than KL quantized ${m.name}: ${candidates.map((c) => `${c.method}: ${c.error}`).join("; ")}`,
    );
  }
  const best = ok.reduce((a, b) => (b.outputCosine! > a.outputCosine! ? b : a));
  return {
    criterion: "highest mean output cosine vs float on the calibration images, over the registry's non-KL methods",
    candidates,
    chosen: best.method,
  };
}

function npySource(data: Float32Array, shape: readonly number[], input: string, batchSize: number): BatchSource {
  const [count, ...dims] = shape;
  const per = dims.reduce((a, b) => a * b, 1);
  return async function* () {
    for (let i = 0; i < count!; i += batchSize) {
      const n = Math.min(batchSize, count! - i);
      yield { feeds: { [input]: { data: data.subarray(i * per, (i + n) * per), dims: [n, ...dims] } }, size: n };
    }
  };
}

async function runOrtNode(modelBytes: Uint8Array, m: BenchModel, data: PeerData, batch: number): Promise<Float32Array> {
  const exec = await createOrtExecutor(modelBytes);
  const parts: Float32Array[] = [];
  try {
    for await (const b of npySource(data.evalTensors, data.evalShape, m.input, batch)()) {
      parts.push((await exec.run(b.feeds, [m.output])).get(m.output)!.data.slice());
    }
  } finally {
    await exec.release();
  }
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array, what: string): number {
  if (a.length !== b.length) throw new Error(`${what}: ${b.length} output values, ours has ${a.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

function score(float: Float32Array, int8: Float32Array, data: PeerData, output: string) {
  const n = data.evalShape[0]!;
  if (int8.length !== float.length) throw new Error(`int8 outputs have ${int8.length} values, float ${float.length}`);
  const acc = new OutputMetricsAccumulator(output);
  const dims = [n, float.length / n];
  acc.add({ data: float, dims }, { data: int8, dims }, n, data.labels);
  const r = acc.result();
  if (r.floatAccuracy === undefined || r.int8Accuracy === undefined) {
    throw new Error(`no labels for the evaluation set (${data.evalWhat}): nothing to score`);
  }
  return {
    floatMetric: r.floatAccuracy,
    int8Metric: r.int8Accuracy,
    dropPoints: (r.floatAccuracy - r.int8Accuracy) * 100,
    ...(r.top1Agreement !== undefined ? { agreement: r.top1Agreement } : {}),
    cosine: r.cosine,
  };
}

async function fileSize(path: string): Promise<number> {
  return (await Deno.stat(path)).size;
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(path));
}

/** Runs a measured step; a non-zero exit throws with the tail of its output. */
async function step(what: string, cmd: string, args: string[]) {
  const run = await runMeasured(cmd, args, { env: { PYTHONNOUSERSITE: "1", PYTHONDONTWRITEBYTECODE: "1" } });
  if (run.code !== 0) throw new MeasuredRunError(run, what);
  return run;
}

/** Runs the side-by-side bench on `options.models`; never throws for a tool's failure (it becomes a failed row). */
export async function runPeerBench(options: PeerBenchOptions): Promise<PeerBenchReport> {
  const python = await peerPython();
  const log = options.log ?? (() => {});
  const versions: Record<string, string> = {
    ours: await gitVersion(),
    "onnxruntime-node": await importVersion("onnxruntime-node"),
    deno: Deno.version.deno,
    python: (await step("python --version", python, ["--version"])).stdout.trim().replace(/^Python /, ""),
  };
  const report: PeerBenchReport = {
    date: new Date().toISOString(),
    machine: await machine(),
    versions,
    notes: [
      "Same inputs: calibration and evaluation tensors made once by this project's preprocessing; onnxruntime and " +
      "our pipeline read them as .npy, mnnquant reads the same samples re-written as PNGs at the input size " +
      `(what MNN's ImageProcess makes of them is compared with the tensors; at most ${MNN_PREPROCESS_LEVELS} ` +
      "pixel level off, its bilinear rounding). Every int8 model is evaluated on the same .npy tensors.",
      `Float outputs of every runtime must match ours within ${FLOAT_TOLERANCE} before its int8 numbers count.`,
      "quantize s: ONNX in → int8 model out inside the tool's process (ours: prepare + calibrate + rewrite; " +
      "onnxruntime: quant_pre_process + quantize_static; MNN: mnnconvert + mnnquant). process s and peak RSS: " +
      "the whole quantizing process, from GNU time.",
      "Each tool calibrates with its default threads (ours 1, MNN 1, onnxruntime: its default intra-op pool).",
    ],
    models: [],
    failures: [],
  };
  for (const m of options.models) {
    log(`# ${m.name}: preparing tensors`);
    const modelReport = await benchModel(m, options, python, log, versions);
    report.models.push(modelReport);
    for (const r of modelReport.rows) {
      if (r.status === "failed") report.failures.push(`${r.tool} ${r.method} on ${m.name}: ${r.error}`);
    }
  }
  return report;
}

async function benchModel(
  m: BenchModel,
  options: PeerBenchOptions,
  python: string,
  log: (line: string) => void,
  versions: Record<string, string>,
): Promise<ModelReport> {
  const dir = join(options.outDir, m.name);
  const data = await preparePeerData(m, dir, options.evalLimit ? { evalLimit: options.evalLimit } : {});
  const batch = m.evaluation === "folder" ? 20 : 250;
  const floatOnnxBytes = await fileSize(m.path);
  const calibTensors = decodeNpy(await Deno.readFile(data.calibNpy), data.calibNpy);
  const ourFloat = await runOrtNode(await Deno.readFile(m.path), m, data, batch);
  const floatCheck: ModelReport["floatCheck"] = { tolerance: FLOAT_TOLERANCE, maxAbsDiff: { ours: 0 } };
  const rows: ToolRow[] = [];
  const notes: string[] = [];
  const floatModel = decodeModel(await Deno.readFile(m.path), m.path);
  const floatProducers = floatModel.graph.producers();
  const constantNodeWeights =
    floatModel.graph.nodes.filter((n) =>
      ["Conv", "ConvTranspose", "Gemm", "MatMul"].includes(n.opType) &&
      floatProducers.get(n.inputs[1] ?? "")?.opType === "Constant"
    ).length;
  const weightsOf = async (path: string) => int8Weights(decodeModel(await Deno.readFile(path), path));
  const peerScripts = join(REPO_ROOT, "scripts/peers");

  const failed = (tool: ToolName, method: string, e: unknown): ToolRow => {
    const error = e instanceof Error ? e.message : String(e);
    log(`#   ${tool} ${method}: FAILED: ${error.split("\n")[0]}`);
    return { tool, method, status: "failed", error };
  };
  const pyOutputs = async (what: string, script: string, model: string, name: string): Promise<Float32Array> => {
    const out = join(dir, `${name}.outputs.npy`);
    await step(what, python, [
      join(peerScripts, script),
      "evaluate",
      "--model",
      model,
      "--data",
      data.evalNpy,
      "--input",
      m.input,
      "--output",
      m.output,
      "--batch",
      String(batch),
      "--out",
      out,
    ]);
    return decodeNpy(await Deno.readFile(out), out).data;
  };
  const checkFloat = (tool: ToolName, float: Float32Array) => {
    const diff = maxAbsDiff(ourFloat, float, `${tool} float outputs`);
    floatCheck.maxAbsDiff[tool] = diff;
    if (!(diff <= FLOAT_TOLERANCE)) {
      throw new Error(
        `${tool}'s float outputs differ from ours by up to ${diff.toExponential(2)} (> ${FLOAT_TOLERANCE}) on ` +
          `${data.evalWhat}: preprocessing or conversion differs, so no int8 number is reported`,
      );
    }
    return diff;
  };

  // Ours: KL and the best other method, each quantized in a fresh measured process.
  log(`# ${m.name}: ours — picking the best non-KL method on the calibration images`);
  let selection: MethodSelection;
  try {
    selection = await selectOtherMethod(m, npySource(calibTensors.data, calibTensors.shape, m.input, 1));
  } catch (e) {
    selection = { criterion: "none: the selection failed", candidates: [], chosen: "best non-KL" };
    rows.push(failed("ours", selection.chosen, e));
  }
  for (const method of selection.candidates.length > 0 ? ["KL", selection.chosen] : ["KL"]) {
    log(`# ${m.name}: ours ${method}`);
    try {
      const out = join(dir, `ours-${method}.int8.onnx`);
      const result = join(dir, `ours-${method}.json`);
      const run = await step(`ours ${method} quantization`, Deno.execPath(), [
        "run",
        "-A",
        join(REPO_ROOT, "bench/peers/ours_child.ts"),
        m.path,
        data.calibNpy,
        m.input,
        method,
        out,
        result,
      ]);
      const r = await readJson(result);
      const int8 = await runOrtNode(await Deno.readFile(out), m, data, batch);
      const int8Bytes = await fileSize(out);
      rows.push({
        tool: "ours",
        method,
        status: "ok",
        ...score(ourFloat, int8, data, m.output),
        floatMaxAbsDiff: 0,
        quantizeSeconds: r.totalSeconds as number,
        processSeconds: run.wallSeconds,
        peakRssBytes: run.peakRssBytes,
        floatBytes: floatOnnxBytes,
        int8Bytes,
        sizeRatio: int8Bytes / floatOnnxBytes,
        ...(await weightsOf(out)),
        calibrationSamples: r.calibrationSamples as number,
        threads: String(r.threads ?? "default"),
        settings: r.settings as string,
      });
    } catch (e) {
      rows.push(failed("ours", method, e));
    }
  }

  // ONNX Runtime: float check in its Python runtime, then Entropy and MinMax.
  let ortFloat: Float32Array | undefined;
  let ortFloatError: unknown;
  try {
    log(`# ${m.name}: onnxruntime float check`);
    ortFloat = await pyOutputs("onnxruntime float evaluation", "ort_peer.py", m.path, "onnxruntime-float");
    checkFloat("onnxruntime", ortFloat);
  } catch (e) {
    ortFloatError = e;
  }
  for (const method of ["Entropy", "MinMax"]) {
    if (ortFloatError !== undefined) {
      rows.push(failed("onnxruntime", method, ortFloatError));
      continue;
    }
    log(`# ${m.name}: onnxruntime ${method}`);
    try {
      const out = join(dir, `onnxruntime-${method}.int8.onnx`);
      const result = join(dir, `onnxruntime-${method}.json`);
      const run = await step(`onnxruntime ${method} quantization`, python, [
        join(peerScripts, "ort_peer.py"),
        "quantize",
        "--model",
        m.path,
        "--calib",
        data.calibNpy,
        "--input",
        m.input,
        "--method",
        method,
        "--out",
        out,
        "--result",
        result,
      ]);
      const r = await readJson(result);
      versions.onnxruntime = r.version as string;
      const int8 = await pyOutputs(`onnxruntime ${method} evaluation`, "ort_peer.py", out, `onnxruntime-${method}`);
      const int8Bytes = await fileSize(out);
      const weights = await weightsOf(out);
      rows.push({
        tool: "onnxruntime",
        method,
        status: "ok",
        ...score(ortFloat!, int8, data, m.output),
        floatMaxAbsDiff: floatCheck.maxAbsDiff.onnxruntime!,
        quantizeSeconds: r.totalSeconds as number,
        processSeconds: run.wallSeconds,
        peakRssBytes: run.peakRssBytes,
        floatBytes: floatOnnxBytes,
        int8Bytes,
        sizeRatio: int8Bytes / floatOnnxBytes,
        ...weights,
        calibrationSamples: r.calibrationSamples as number,
        threads: "default",
        settings: r.settings as string,
      });
    } catch (e) {
      rows.push(failed("onnxruntime", method, e));
    }
  }

  // Weights a peer left in float, said once for all its methods that did the same.
  const partial = new Map<string, string[]>();
  for (const r of rows.filter((r) => r.tool === "onnxruntime" && r.int8WeightOps! < r.weightOps!)) {
    const what = `${r.int8WeightOps} of ${r.weightOps}`;
    partial.set(what, [...(partial.get(what) ?? []), r.method]);
  }
  for (const [what, methods] of partial) {
    notes.push(
      `onnxruntime ${methods.join(" and ")}: ${what} Conv/Gemm/MatMul weights are int8, the rest stay float` +
        (constantNodeWeights > 0
          ? ` (the float model gives ${constantNodeWeights} weights as Constant nodes, not initializers)`
          : ""),
    );
  }
  const ortFiles = await Promise.all(
    rows.filter((r) => r.tool === "onnxruntime" && r.status === "ok")
      .map((r) => Deno.readFile(join(dir, `onnxruntime-${r.method}.int8.onnx`))),
  );
  if (
    ortFiles.length === 2 && ortFiles[0]!.length === ortFiles[1]!.length &&
    ortFiles[0]!.every((b, i) => b === ortFiles[1]![i])
  ) {
    notes.push(
      "onnxruntime Entropy and MinMax wrote byte-identical models: quantize_static's Entropy calibrator uses 128 " +
        "histogram bins for 128 quantized bins (quantize_static has no option to change them), which leaves one " +
        "candidate threshold, the full range, unless the histogram grows while collecting",
    );
  }

  // MNN: mnnconvert + mnnquant (reads the PNGs itself), preprocessing check, float check, int8 in MNN's runtime.
  const method = "KL";
  log(`# ${m.name}: MNN ${method}`);
  try {
    const config = join(dir, "imageInputConfig.json");
    const floatMnn = join(dir, "model.mnn");
    const out = join(dir, `MNN-${method}.int8.mnn`);
    const result = join(dir, `MNN-${method}.json`);
    await Deno.writeTextFile(
      config,
      JSON.stringify(
        {
          ...data.mnnConfig,
          path: data.calibImagesDir,
          used_image_num: data.calibCount,
          feature_quantize_method: method,
          weight_quantize_method: "MAX_ABS",
        },
        null,
        2,
      ) + "\n",
    );
    const run = await step(`MNN ${method} quantization`, python, [
      join(peerScripts, "mnn_peer.py"),
      "quantize",
      "--model",
      m.path,
      "--config",
      config,
      "--float-mnn",
      floatMnn,
      "--out",
      out,
      "--result",
      result,
      "--log",
      join(dir, "MNN.log"),
    ]);
    const r = await readJson(result);
    versions.MNN = r.version as string;
    const check = join(dir, "MNN-preprocess.json");
    await step("MNN preprocessing check", python, [
      join(peerScripts, "mnn_peer.py"),
      "check-preprocess",
      "--config",
      config,
      "--calib",
      data.calibNpy,
      "--result",
      check,
    ]);
    const pre = (await readJson(check)) as { maxAbsDiff: number; maxPixelLevels: number; differingShare: number };
    floatCheck.mnnCalibrationPreprocess = {
      maxAbsDiff: pre.maxAbsDiff,
      maxPixelLevels: pre.maxPixelLevels,
      differingShare: pre.differingShare,
    };
    // MNN resamples bilinearly even at the same size, through a matrix fitted in float: one level is its rounding.
    if (!(pre.maxPixelLevels <= MNN_PREPROCESS_LEVELS)) {
      throw new Error(
        `MNN's image preprocessing of the calibration PNGs differs from our tensors by up to ` +
          `${pre.maxPixelLevels} pixel levels (> ${MNN_PREPROCESS_LEVELS}): mnnquant would calibrate on other data`,
      );
    }
    const mnnFloat = await pyOutputs("MNN float evaluation", "mnn_peer.py", floatMnn, "MNN-float");
    const diff = checkFloat("MNN", mnnFloat);
    const int8 = await pyOutputs(`MNN ${method} evaluation`, "mnn_peer.py", out, `MNN-${method}`);
    if (r.methodUsed !== method) {
      notes.push(`MNN: mnnquant was asked for ${method} but used ${r.methodUsed} (its log: the graph holds BatchNorm)`);
    }
    const floatBytes = await fileSize(floatMnn);
    const int8Bytes = await fileSize(out);
    rows.push({
      tool: "MNN",
      method,
      ...(r.methodUsed !== method ? { methodUsed: r.methodUsed as string } : {}),
      status: "ok",
      ...score(mnnFloat, int8, data, m.output),
      floatMaxAbsDiff: diff,
      quantizeSeconds: r.totalSeconds as number,
      processSeconds: run.wallSeconds,
      peakRssBytes: run.peakRssBytes,
      floatBytes,
      int8Bytes,
      sizeRatio: int8Bytes / floatBytes,
      calibrationSamples: r.calibrationSamples as number,
      threads: "1",
      settings: r.settings as string,
    });
  } catch (e) {
    rows.push(failed("MNN", method, e));
  }

  return {
    model: m.name,
    path: m.path,
    metric: "top-1 accuracy vs labels",
    calibration: { samples: data.calibCount, source: `${m.calib} (${data.calibCount} images)` },
    evaluation: { samples: data.evalShape[0]!, what: data.evalWhat },
    floatCheck,
    selection,
    notes,
    rows,
    ratios: ratios(rows),
  };
}

/**
 * Ours against each successful peer row: time, RSS and int8-size ratios (ours / peer) and the drop difference.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ratios, type ToolRow } from "./harness.ts";
 * const row = (tool: ToolRow["tool"], method: string, s: number): ToolRow => ({
 *   tool, method, status: "ok", quantizeSeconds: s, processSeconds: s, peakRssBytes: s, int8Bytes: s, dropPoints: s,
 * });
 * assert.deepEqual(ratios([row("ours", "KL", 1), row("MNN", "KL", 2)]), [
 *   { ours: "KL", peer: "MNN KL", quantizeTime: 0.5, processTime: 0.5, peakRss: 0.5, int8Size: 0.5, dropDeltaPoints: -1 },
 * ]);
 * ```
 */
export function ratios(rows: readonly ToolRow[]): PeerRatio[] {
  const ok = rows.filter((r) => r.status === "ok");
  const out: PeerRatio[] = [];
  for (const o of ok.filter((r) => r.tool === "ours")) {
    for (const p of ok.filter((r) => r.tool !== "ours")) {
      out.push({
        ours: o.method,
        peer: `${p.tool} ${p.method}`,
        quantizeTime: o.quantizeSeconds! / p.quantizeSeconds!,
        processTime: o.processSeconds! / p.processSeconds!,
        peakRss: o.peakRssBytes! / p.peakRssBytes!,
        int8Size: o.int8Bytes! / p.int8Bytes!,
        dropDeltaPoints: o.dropPoints! - p.dropPoints!,
      });
    }
  }
  return out;
}

async function gitVersion(): Promise<string> {
  try {
    const git = (args: string[]) =>
      new Deno.Command("git", { args, cwd: REPO_ROOT, stdout: "piped", stderr: "null" }).output();
    const head = await git(["rev-parse", "--short", "HEAD"]);
    const status = await git(["status", "--porcelain", "--untracked-files=no"]);
    const dirty = new TextDecoder().decode(status.stdout).trim() !== "";
    return new TextDecoder().decode(head.stdout).trim() + (dirty ? "+uncommitted" : "");
  } catch {
    return "unknown";
  }
}

async function importVersion(name: string): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "deno.json")));
  const spec: string = config.imports?.[name] ?? "";
  return spec.slice(spec.lastIndexOf("@") + 1) || "unknown";
}

async function machine(): Promise<PeerBenchReport["machine"]> {
  let cpu = "unknown";
  try {
    cpu = /model name\s*:\s*(.+)/.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1]?.trim() ?? cpu;
  } catch { /* not Linux */ }
  return {
    os: Deno.build.os,
    arch: Deno.build.arch,
    cpu,
    cores: navigator.hardwareConcurrency,
    memoryGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
  };
}
