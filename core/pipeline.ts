/**
 * The host quantization pipeline, as pure orchestration over an injected
 * executor: prepare the float graph, plan, calibrate (streaming), rewrite to
 * QDQ, then measure the int8 model against the float one.
 *
 * @module
 */

import { createCalibrator } from "./calib/mod.ts";
import type { CalibrationRange } from "./calib/types.ts";
import type { ExecutorFactory, HostTensor } from "./exec/executor.ts";
import {
  type OutputMetrics,
  OutputMetricsAccumulator,
  type TensorMetrics,
  TensorMetricsAccumulator,
} from "./metrics/accumulate.ts";
import type { Model } from "./onnx/ir.ts";
import { cloneModel, encodeModel } from "./onnx/model.ts";
import { toFloat32 } from "./onnx/tensor.ts";
import { dequantizeWeights } from "./quant/weights.ts";
import { findActivationFusions, prepareModel, type PrepareReport } from "./passes/mod.ts";
import { type EqualizationReport, equalizationTensors, equalizeCrossLayer } from "./passes/cross_layer_equalization.ts";
import { applyBiasCorrection, biasCorrectionTargets, ChannelMeans, weightErrorShift } from "./quant/bias_correction.ts";
import {
  type Batch,
  type BatchSource,
  type CalibrationProgress,
  type CalibrationRun,
  exposeTensors,
  runCalibration,
} from "./quant/calibrate.ts";
import type { CalibratorSpec, SpawnCalibrationWorker } from "./quant/calibration_workers.ts";
import {
  activationParams,
  type ActivationScheme,
  clampForBits,
  INT16_CLAMP,
  type QuantParams,
} from "./quant/params.ts";
import { planQuantization, type QuantPlan } from "./quant/plan.ts";
import { dequantizedInputName, type RewriteSummary, rewriteToQdq, type WeightOptions } from "./quant/rewrite.ts";

/** Everything that shapes one quantization run. */
export interface QuantizeOptions {
  /** Activation calibration method: KL, MINMAX (MAX_ABS), EMA, ADMM, PERCENTILE or MSE. */
  method: string;
  scheme: ActivationScheme;
  /** MNN feature_clamp_value. */
  featureClamp: number;
  /** MNN weight_clamp_value. */
  weightClamp: number;
  perChannel: boolean;
  /** Node or tensor names to keep in float. */
  skip: readonly string[];
  /** ONNX Runtime intra-op threads (default 1: measured fastest for calibration on small machines). */
  threads?: number;
  /**
   * Workers that bin histograms while the runtime computes the next batch (KL, PERCENTILE, MSE,
   * ADMM; the ranges are identical either way). Default: 1 when the host can start workers (see
   * {@link QuantizeHost}) and a batch carries over a million values to bin (smaller batches do not
   * pay for the worker: `DEFAULT_WORKER_MIN_VALUES_PER_BATCH`), else 0 (all on the main thread); a
   * number given here is used whatever the batch size. Measured on 2 idle cores, PaddleOCR
   * classifier, 1 000 images: KL, PERCENTILE and MSE take 1.3–1.4× the float model's time (observed
   * tensors exposed) with one worker, 1.8–2.0× without. On a machine whose cores are all busy the
   * worker only adds its copies and messages: use 0 there.
   */
  calibrationWorkers?: number;
  /** Weight quantization method: MNN's MAX_ABS (default) or ADMM. */
  weightMethod: "MAX_ABS" | "ADMM";
  /** Symmetric weights (default) or asymmetric int8 weights with per-channel zero points (MAX_ABS only). */
  weightScheme?: "symmetric" | "asymmetric";
  /** Bits of weights and activations, 2..8 (MNN quant_bits); clamps above 2^(bits-1)-1 are lowered to it. */
  bits: number;
  /** Node or tensor names whose activations use int16 instead of int8 (sensitive layers). */
  int16: readonly string[];
  /** Cross-layer equalization before calibration (AIMET/DFQ), for depthwise-separable nets. */
  crossLayerEqualization: boolean;
  /** Empirical bias correction from calibration data. */
  biasCorrection: boolean;
  /** Method-specific settings: percentile (e.g. 99.99), EMA batch size / decay, histogram bins, KL passes (1 or 2). */
  methodOptions: {
    percentile?: number;
    emaBatchSize?: number;
    emaDecay?: number;
    bins?: number;
    klPasses?: number;
  };
}

/** The defaults: MNN quantized.out's (KL, symmetric int8, clamp 127, per-channel MAX_ABS weights). */
export const DEFAULT_QUANTIZE_OPTIONS: QuantizeOptions = {
  method: "KL",
  scheme: "symmetric-int8",
  featureClamp: 127,
  weightClamp: 127,
  perChannel: true,
  skip: [],
  threads: 1,
  weightMethod: "MAX_ABS",
  bits: 8,
  int16: [],
  crossLayerEqualization: false,
  biasCorrection: false,
  methodOptions: {},
};

/**
 * What the host provides besides the executor.
 *
 * @example
 * ```ts ignore
 * // cli/calibration_worker.ts's spawner: a Deno Worker on CALIBRATION_WORKER_MODULE
 * const host: QuantizeHost = { spawnCalibrationWorker };
 * await quantizeModel(model, source, createOrtExecutor, DEFAULT_QUANTIZE_OPTIONS, undefined, host);
 * ```
 */
export interface QuantizeHost {
  /** Starts a calibration worker (`core/quant/calibration_workers.ts`); without it calibration stays on the main thread. */
  spawnCalibrationWorker?: SpawnCalibrationWorker;
}

/** Rejects option values that cannot work together, naming the option. */
function assertSupported(options: QuantizeOptions): void {
  clampForBits(options.featureClamp, options.bits); // throws on bits outside 2..8
  createCalibrator(options.method, { clamp: options.featureClamp, ...options.methodOptions }); // unknown method, bad option
  if (options.weightMethod !== "MAX_ABS" && options.weightMethod !== "ADMM") {
    throw new Error(`Unknown weight method "${options.weightMethod}"; known: ADMM, MAX_ABS`);
  }
  if (options.weightScheme === "asymmetric" && options.weightMethod !== "MAX_ABS") {
    throw new Error(`Asymmetric weights need weightMethod MAX_ABS, got ${options.weightMethod}`);
  }
}

/** Tensors named by `names` (a tensor, or a node: its quantized inputs and outputs); throws on unknown names. */
function resolveTensorNames(model: Model, plan: QuantPlan, names: readonly string[], what: string): Set<string> {
  const quantized = new Set(plan.quantized);
  const tensors = new Set<string>();
  const unknown: string[] = [];
  for (const name of names) {
    const node = model.graph.nodes.find((n) => n.name === name);
    if (node) {
      for (const t of [...node.inputs, ...node.outputs]) if (quantized.has(t)) tensors.add(t);
    } else if (quantized.has(name)) tensors.add(name);
    else unknown.push(`"${name}"`);
  }
  if (unknown.length > 0) throw new Error(`${what} names ${unknown.join(", ")}, not a quantized node or tensor`);
  // A tensor sharing another's parameters follows it.
  for (const [t, src] of plan.shared) if (tensors.has(src) || tensors.has(t)) tensors.add(src).add(t);
  return tensors;
}

/** Result of {@link quantizeModel}. */
export interface QuantizeResult {
  /** The prepared float model (BN folded, opset 13, equalized when asked): the reference the int8 model is compared with. */
  prepared: Model;
  /** The QDQ model. */
  quantized: Model;
  quantizedBytes: Uint8Array;
  prepare: PrepareReport;
  /** What cross-layer equalization did, when enabled. */
  equalization?: EqualizationReport;
  /** Largest bias shift per corrected layer, when bias correction is enabled. */
  biasCorrection?: Map<string, number>;
  plan: QuantPlan;
  ranges: Map<string, CalibrationRange>;
  params: Map<string, QuantParams>;
  rewrite: RewriteSummary;
  /** Tensors stored as int16. */
  int16: Set<string>;
  /** Passes over the calibration data the chosen methods needed. */
  calibrationPasses: number;
  /** Calibration samples seen per pass. */
  calibrationSamples: number;
  /** Workers that binned histograms (0: the main thread did). */
  calibrationWorkers: number;
  /** Per calibration pass: tensors copied out of the runtime and tensors reduced in-graph. */
  calibrationPerPass: CalibrationRun["perPass"];
  /** Wall-clock milliseconds of each stage. */
  timings: { prepare: number; calibrate: number; rewrite: number; biasCorrection: number };
}

/**
 * Quantizes a float model with calibration data from `source`.
 *
 * @example
 * ```ts ignore
 * // createExecutor: e.g. targets/ort.ts's createOrtExecutor (the host runtime)
 * const result = await quantizeModel(model, source, createExecutor, DEFAULT_QUANTIZE_OPTIONS);
 * await Deno.writeFile("m.int8.onnx", result.quantizedBytes);
 * ```
 */
export async function quantizeModel(
  model: Model,
  source: BatchSource,
  createExecutor: ExecutorFactory,
  options: QuantizeOptions,
  onProgress?: CalibrationProgress,
  host: QuantizeHost = {},
): Promise<QuantizeResult> {
  assertSupported(options);
  const spawn = host.spawnCalibrationWorker;
  const workerCount = options.calibrationWorkers ?? (spawn ? 1 : 0);
  if (!Number.isInteger(workerCount) || workerCount < 0) {
    throw new RangeError(`calibrationWorkers must be a non-negative integer, got ${workerCount}`);
  }
  if (workerCount > 0 && !spawn) {
    throw new Error(
      `calibrationWorkers is ${workerCount} but the host cannot start workers (no spawnCalibrationWorker)`,
    );
  }
  let t0 = performance.now();
  const prepared = cloneModel(model);
  const prepare = prepareModel(prepared);
  let fusions = prepare.fusions;
  let equalization: EqualizationReport | undefined;
  if (options.crossLayerEqualization) {
    const between = equalizationTensors(prepared.graph);
    const activationRanges = await channelStatistics(prepared, between, source, createExecutor, options.threads, "max");
    equalization = equalizeCrossLayer(prepared.graph, { activationRanges });
    fusions = findActivationFusions(prepared.graph); // ReLU6 → ReLU changes what fuses
  }
  const plan = planQuantization(prepared.graph, fusions, { perChannel: options.perChannel, skip: options.skip });
  const int16 = resolveTensorNames(prepared, plan, options.int16, "The int16 list");
  const featureClamp = clampForBits(options.featureClamp, options.bits);
  const weights: WeightOptions = {
    clamp: clampForBits(options.weightClamp, options.bits),
    method: options.weightMethod,
    symmetric: options.weightScheme !== "asymmetric",
  };
  const timings = { prepare: performance.now() - t0, calibrate: 0, rewrite: 0, biasCorrection: 0 };

  t0 = performance.now();
  const calibratorFor = (t: string, dims: readonly number[] | undefined): CalibratorSpec => ({
    // MNN calibrates graph inputs with MAX whatever the method.
    method: plan.graphInputs.has(t) ? "MINMAX" : options.method,
    options: {
      clamp: int16.has(t) ? INT16_CLAMP : featureClamp,
      ...(dims ? { shape: dims } : {}),
      ...options.methodOptions,
    },
  });
  const run = await runCalibration(prepared, createExecutor, plan.calibrated, calibratorFor, source, {
    ...(options.threads ? { threads: options.threads } : {}),
    ...(onProgress ? { onProgress } : {}),
    // an explicit worker count is used as given; the default only where batches are large enough
    ...(spawn && workerCount > 0
      ? { workers: { spawn, count: workerCount, ...(options.calibrationWorkers ? { minValuesPerBatch: 0 } : {}) } }
      : {}),
  });
  const ranges = run.ranges;
  timings.calibrate = performance.now() - t0;

  t0 = performance.now();
  const params = new Map<string, QuantParams>();
  for (const [t, r] of ranges) {
    params.set(t, activationParams(r, options.scheme, featureClamp, { bits: options.bits, int16: int16.has(t) }));
  }
  for (const [t, src] of plan.shared) params.set(t, params.get(src)!);
  let quantized = cloneModel(prepared);
  let rewrite = rewriteToQdq(quantized, plan, params, weights);
  timings.rewrite = performance.now() - t0;

  let biasCorrection: Map<string, number> | undefined;
  if (options.biasCorrection) {
    t0 = performance.now();
    const corrected = cloneModel(prepared);
    const targets = biasCorrectionTargets(prepared.graph, plan);
    const inputs = [...new Set(targets.map((t) => t.input))];
    const means = await channelStatistics(prepared, inputs, source, createExecutor, options.threads, "mean");
    const shifts = new Map<string, Float64Array>();
    for (const t of targets) {
      const q = rewrite.weightScales.get(t.weight);
      const w = prepared.graph.initializers.get(t.weight);
      const mean = means.get(t.input);
      if (!q || !w || !mean || mean.length !== t.inputChannels) continue;
      shifts.set(t.node, weightErrorShift(t.layout, w.dims, toFloat32(w), dequantizeWeights(q, w.dims), mean));
    }
    biasCorrection = applyBiasCorrection(corrected.graph, targets, shifts);
    quantized = corrected;
    rewrite = rewriteToQdq(quantized, plan, params, weights);
    timings.biasCorrection = performance.now() - t0;
  }
  const quantizedBytes = encodeModel(quantized);
  return {
    prepared,
    quantized,
    quantizedBytes,
    prepare,
    ...(equalization ? { equalization } : {}),
    ...(biasCorrection ? { biasCorrection } : {}),
    plan,
    ranges,
    params,
    rewrite,
    int16,
    calibrationPasses: run.passes,
    calibrationSamples: run.samples,
    calibrationWorkers: run.workers,
    calibrationPerPass: run.perPass,
    timings,
  };
}

/** Per-channel max |x| or mean (channel axis 1) of `tensors` in the float model over `source`. */
async function channelStatistics(
  model: Model,
  tensors: readonly string[],
  source: BatchSource,
  createExecutor: ExecutorFactory,
  threads: number | undefined,
  statistic: "max" | "mean",
): Promise<Map<string, Float64Array>> {
  const maxima = new Map<string, Float64Array>();
  const means = new Map<string, ChannelMeans>();
  if (tensors.length === 0) return maxima;
  const exec = await createExecutor(encodeModel(exposeTensors(model, tensors)), threads ? { threads } : {});
  try {
    for await (const batch of source()) {
      const outputs = await exec.run(batch.feeds, tensors);
      for (const t of tensors) {
        const tensor = outputs.get(t)!;
        const [n = 1, channels = 1] = tensor.dims;
        if (statistic === "mean") {
          let m = means.get(t);
          if (!m) means.set(t, m = new ChannelMeans(channels));
          m.add(tensor);
          continue;
        }
        const data = tensor.data;
        const inner = data.length / (n * channels);
        let m = maxima.get(t);
        if (!m) maxima.set(t, m = new Float64Array(channels));
        for (let b = 0; b < n; b++) {
          for (let c = 0; c < channels; c++) {
            let top = m[c]!;
            const base = (b * channels + c) * inner;
            for (let i = 0; i < inner; i++) {
              const v = Math.abs(data[base + i]!);
              top = v > top ? v : top;
            }
            m[c] = top;
          }
        }
      }
    }
  } finally {
    await exec.release();
  }
  return statistic === "max" ? maxima : new Map([...means].map(([t, m]) => [t, m.means()]));
}

/** Float-vs-int8 measurements. */
export interface Evaluation {
  /** One entry per quantized activation tensor, in graph order. */
  tensors: TensorMetrics[];
  /** One entry per model output. */
  outputs: OutputMetrics[];
}

/** Samples over which per-tensor metrics are averaged by default (outputs use every sample). */
export const DEFAULT_TENSOR_SAMPLES = 64;

/** Name of a quantized tensor inside the QDQ model (graph inputs are renamed by the rewriter). */
export function qdqTensorName(plan: QuantPlan, tensor: string): string {
  return plan.graphInputs.has(tensor) ? dequantizedInputName(tensor) : tensor;
}

/**
 * Runs the prepared float model and the QDQ model side by side on `source`
 * and measures every quantized tensor and every output.
 *
 * @example
 * ```ts ignore
 * const evaluation = await evaluateQuantization(result, source, createOrtExecutor);
 * console.log(evaluation.outputs[0]?.cosine);
 * ```
 */
export async function evaluateQuantization(
  result: Pick<QuantizeResult, "prepared" | "quantized" | "plan" | "params">,
  source: BatchSource,
  createExecutor: ExecutorFactory,
  options: {
    threads?: number;
    tensors?: boolean;
    tensorSamples?: number;
    /**
     * Sees every batch that carries tensors: the float run's results by float name, the QDQ run's
     * by QDQ name (see {@link qdqTensorName}); the debug report reuses them.
     */
    observe?: (batch: Batch, float: ReadonlyMap<string, HostTensor>, quant: ReadonlyMap<string, HostTensor>) => void;
  } = {},
): Promise<Evaluation> {
  const { prepared, quantized, plan, params } = result;
  const outputs = prepared.graph.outputs.map((o) => o.name);
  const tensors = options.tensors === false ? [] : plan.quantized.filter((t) => !outputs.includes(t));
  const threads = options.threads ? { threads: options.threads } : {};
  const floatExec = await createExecutor(encodeModel(exposeTensors(prepared, tensors)), threads);
  const qdqNames = tensors.map((t) => qdqTensorName(plan, t));
  const quantExec = await createExecutor(encodeModel(exposeTensors(quantized, qdqNames)), threads);
  const perTensor = new TensorMetricsAccumulator();
  const perOutput = outputs.map((o) => new OutputMetricsAccumulator(o));
  // Per-tensor metrics converge within a few dozen samples and cost far more than the outputs.
  const tensorSamples = options.tensorSamples ?? DEFAULT_TENSOR_SAMPLES;
  let seen = 0;
  try {
    for await (const batch of source()) {
      const withTensors = seen < tensorSamples;
      seen += batch.size;
      const f = await floatExec.run(batch.feeds, withTensors ? [...outputs, ...tensors] : outputs);
      const q = await quantExec.run(batch.feeds, withTensors ? [...outputs, ...qdqNames] : outputs);
      if (withTensors) {
        tensors.forEach((t, i) => perTensor.add(t, f.get(t)!, q.get(qdqNames[i]!)!, batch.size, params.get(t)!));
        options.observe?.(batch, f, q);
      }
      outputs.forEach((o, i) => perOutput[i]!.add(f.get(o)!, q.get(o)!, batch.size, batch.labels));
    }
  } finally {
    await floatExec.release();
    await quantExec.release();
  }
  return { tensors: perTensor.results(), outputs: perOutput.map((a) => a.result()) };
}
