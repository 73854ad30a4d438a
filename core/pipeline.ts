/**
 * The host quantization pipeline, as pure orchestration over an injected
 * executor: prepare the float graph, plan, calibrate (streaming), rewrite to
 * QDQ, then measure the int8 model against the float one.
 *
 * @module
 */

import { createCalibrator } from "./calib/mod.ts";
import type { CalibrationRange, Calibrator } from "./calib/types.ts";
import type { ExecutorFactory } from "./exec/executor.ts";
import {
  type OutputMetrics,
  OutputMetricsAccumulator,
  type TensorMetrics,
  TensorMetricsAccumulator,
} from "./metrics/accumulate.ts";
import type { Model } from "./onnx/ir.ts";
import { cloneModel, encodeModel } from "./onnx/model.ts";
import { prepareModel, type PrepareReport } from "./passes/mod.ts";
import { type BatchSource, type CalibrationProgress, exposeTensors, runCalibration } from "./quant/calibrate.ts";
import { activationParams, type ActivationScheme, type QuantParams } from "./quant/params.ts";
import { planQuantization, type QuantPlan } from "./quant/plan.ts";
import { dequantizedInputName, type RewriteSummary, rewriteToQdq } from "./quant/rewrite.ts";

/** Everything that shapes one quantization run. */
export interface QuantizeOptions {
  /** Activation calibration method, e.g. "KL" or "MINMAX". */
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
  /** Weight quantization method: MNN's MAX_ABS (default) or ADMM. */
  weightMethod: "MAX_ABS" | "ADMM";
  /** Bits of weights and activations, 2..8 (MNN quant_bits); clamps above 2^(bits-1)-1 are lowered to it. */
  bits: number;
  /** Node or tensor names whose activations use int16 instead of int8 (sensitive layers). */
  int16: readonly string[];
  /** Cross-layer equalization before calibration (AIMET/DFQ), for depthwise-separable nets. */
  crossLayerEqualization: boolean;
  /** Empirical bias correction from calibration data. */
  biasCorrection: boolean;
  /** Method-specific settings: percentile (e.g. 99.99), EMA batch size / decay, histogram bins. */
  methodOptions: { percentile?: number; emaBatchSize?: number; emaDecay?: number; bins?: number };
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

/** Rejects option values this version does not implement yet, naming the option. */
function assertSupported(options: QuantizeOptions): void {
  const unsupported: string[] = [];
  if (options.weightMethod !== "MAX_ABS") unsupported.push(`weightMethod ${options.weightMethod}`);
  if (options.bits !== 8) unsupported.push(`bits ${options.bits}`);
  if (options.int16.length > 0) unsupported.push("int16 activations");
  if (options.crossLayerEqualization) unsupported.push("crossLayerEqualization");
  if (options.biasCorrection) unsupported.push("biasCorrection");
  if (unsupported.length > 0) throw new Error(`Not supported yet: ${unsupported.join(", ")}`);
}

/** Result of {@link quantizeModel}. */
export interface QuantizeResult {
  /** The prepared float model (BN folded, opset 13): the reference the int8 model is compared with. */
  prepared: Model;
  /** The QDQ model. */
  quantized: Model;
  quantizedBytes: Uint8Array;
  prepare: PrepareReport;
  plan: QuantPlan;
  ranges: Map<string, CalibrationRange>;
  params: Map<string, QuantParams>;
  rewrite: RewriteSummary;
  /** Passes over the calibration data the chosen methods needed. */
  calibrationPasses: number;
  /** Calibration samples seen per pass. */
  calibrationSamples: number;
  /** Wall-clock milliseconds of each stage. */
  timings: { prepare: number; calibrate: number; rewrite: number };
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
): Promise<QuantizeResult> {
  assertSupported(options);
  let t0 = performance.now();
  const prepared = cloneModel(model);
  const prepare = prepareModel(prepared);
  const plan = planQuantization(prepared.graph, prepare.fusions, {
    perChannel: options.perChannel,
    skip: options.skip,
  });
  const timings = { prepare: performance.now() - t0, calibrate: 0, rewrite: 0 };

  t0 = performance.now();
  const calibratorFor = (t: string, dims: readonly number[]): Calibrator =>
    // MNN calibrates graph inputs with MAX whatever the method.
    createCalibrator(plan.graphInputs.has(t) ? "MINMAX" : options.method, { clamp: options.featureClamp, shape: dims });
  const probe = createCalibrator(options.method, { clamp: options.featureClamp });
  const observed = encodeModel(exposeTensors(prepared, plan.calibrated));
  const exec = await createExecutor(observed, options.threads ? { threads: options.threads } : {});
  let ranges: Map<string, CalibrationRange>;
  const calibrationPasses = probe.passes;
  let calibrationSamples = 0;
  try {
    ranges = await runCalibration(exec, plan.calibrated, calibratorFor, source, (pass, passes, samples) => {
      calibrationSamples = samples;
      onProgress?.(pass, passes, samples);
    });
  } finally {
    await exec.release();
  }
  timings.calibrate = performance.now() - t0;

  t0 = performance.now();
  const params = new Map<string, QuantParams>();
  for (const [t, r] of ranges) params.set(t, activationParams(r, options.scheme, options.featureClamp));
  for (const [t, src] of plan.shared) params.set(t, params.get(src)!);
  const quantized = cloneModel(prepared);
  const rewrite = rewriteToQdq(quantized, plan, params, { clamp: options.weightClamp });
  const quantizedBytes = encodeModel(quantized);
  timings.rewrite = performance.now() - t0;
  return {
    prepared,
    quantized,
    quantizedBytes,
    prepare,
    plan,
    ranges,
    params,
    rewrite,
    calibrationPasses,
    calibrationSamples,
    timings,
  };
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
  options: { threads?: number; tensors?: boolean; tensorSamples?: number } = {},
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
      }
      outputs.forEach((o, i) => perOutput[i]!.add(f.get(o)!, q.get(o)!, batch.size, batch.labels));
    }
  } finally {
    await floatExec.release();
    await quantExec.release();
  }
  return { tensors: perTensor.results(), outputs: perOutput.map((a) => a.result()) };
}
