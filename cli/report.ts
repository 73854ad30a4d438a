/**
 * The JSON report written next to the int8 model. Keys are stable: the
 * device runs write the same shape.
 *
 * @module
 */

import type { Evaluation, QuantizeOptions, QuantizeResult } from "../core/pipeline.ts";
import type { OutputMetrics } from "../core/metrics/accumulate.ts";
import { opsetVersion } from "../core/onnx/model.ts";
import type { DebugReport } from "../core/report/schema.ts";

/** One quantized tensor in the report. */
export interface TensorReport {
  tensor: string;
  /** Op type of the node producing it (`input` for graph inputs). */
  op: string;
  scale: number;
  zeroPoint: number;
  /** Calibrated clipping range and the observed extremes. */
  range: { min: number; max: number; observedMin: number; observedMax: number } | undefined;
  /** Set when the tensor reuses another tensor's parameters. */
  sharedWith: string | undefined;
  cosine: number;
  minCosine: number;
  overflowRate: number;
}

/** The whole report. */
export interface QuantizeReport {
  schema: "int8-toolchain/quantize-report@1";
  model: string;
  output: string;
  options: QuantizeOptions;
  calibration: { samples: number; passes: number; source: string };
  prepare: {
    opsetBefore: number;
    opsetAfter: number;
    batchNormsFolded: number;
    constantsConverted: number;
    fusions: number;
  };
  plan: {
    quantizedTensors: number;
    calibratedTensors: number;
    floatNodes: number;
    floatNodeList: { name: string; opType: string; reason: string }[];
  };
  size: { floatBytes: number; int8Bytes: number; ratio: number };
  outputs: OutputMetrics[];
  tensors: TensorReport[];
  timings: { prepare: number; calibrate: number; rewrite: number; evaluate: number };
  /** The per-layer debug report (core/report/schema.ts), present when `--report` asked for one. */
  debug?: DebugReport;
}

/**
 * Assembles the report from a run's parts.
 *
 * @example
 * ```ts ignore
 * const report = buildReport({ model, output, options, result, evaluation, floatBytes, source, evaluateMs });
 * ```
 */
export function buildReport(args: {
  model: string;
  output: string;
  options: QuantizeOptions;
  result: QuantizeResult;
  evaluation: Evaluation;
  floatBytes: number;
  source: string;
  evaluateMs: number;
}): QuantizeReport {
  const { result, evaluation } = args;
  const producers = result.prepared.graph.producers();
  const metrics = new Map(evaluation.tensors.map((t) => [t.tensor, t]));
  const tensors: TensorReport[] = result.plan.quantized.map((t) => {
    const p = result.params.get(t)!;
    const r = result.ranges.get(t);
    const m = metrics.get(t);
    return {
      tensor: t,
      op: producers.get(t)?.opType ?? "input",
      scale: p.scale,
      zeroPoint: p.zeroPoint,
      range: r ? { min: r.min, max: r.max, observedMin: r.observedMin, observedMax: r.observedMax } : undefined,
      sharedWith: result.plan.shared.get(t),
      cosine: m?.cosine ?? 1,
      minCosine: m?.minCosine ?? 1,
      overflowRate: m?.overflowRate ?? 0,
    };
  }).filter((t) => metrics.has(t.tensor));
  return {
    schema: "int8-toolchain/quantize-report@1",
    model: args.model,
    output: args.output,
    options: args.options,
    calibration: { samples: result.calibrationSamples, passes: result.calibrationPasses, source: args.source },
    prepare: {
      opsetBefore: result.prepare.opsetBefore,
      opsetAfter: opsetVersion(result.prepared),
      batchNormsFolded: result.prepare.batchNormsFolded,
      constantsConverted: result.prepare.constantsConverted,
      fusions: result.prepare.fusions.length,
    },
    plan: {
      quantizedTensors: result.plan.quantized.length,
      calibratedTensors: result.plan.calibrated.length,
      floatNodes: result.plan.floatNodes.length,
      floatNodeList: result.plan.floatNodes,
    },
    size: {
      floatBytes: args.floatBytes,
      int8Bytes: result.quantizedBytes.byteLength,
      ratio: result.quantizedBytes.byteLength / args.floatBytes,
    },
    outputs: evaluation.outputs,
    tensors,
    timings: { ...result.timings, evaluate: args.evaluateMs },
  };
}
