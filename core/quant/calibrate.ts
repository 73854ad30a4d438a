/**
 * The calibration driver: runs the float model over the data once per pass the methods need,
 * and streams every observed tensor to its calibrator. Nothing is kept per sample.
 *
 * Each pass runs one graph built for it. A tensor whose calibrator needs every value on that
 * pass is exposed as a graph output (ONNX Runtime copies it out). A tensor whose calibrator
 * needs only each sample's range (MinMax, EMA, KL's two-pass first pass) gets in-graph reductions
 * instead — per-sample ReduceMin, ReduceMax and ReduceSum (the sum turns NaN whenever a value is
 * NaN, which ReduceMin/ReduceMax may skip) — so only three numbers per sample come back and no
 * JavaScript loop touches the tensor. On a non-finite reduction the batch is run again with
 * the tensor exposed to name the exact sample.
 *
 * Optionally, calibrators that need every value live in Web Workers (`calibration_workers.ts`):
 * the main thread runs the next batch while a worker bins the last one, with the same ranges.
 * Either way each value tensor's buffer is freed as soon as it has been observed, so memory does
 * not depend on the number of samples.
 *
 * @module
 */

import { createCalibrator } from "../calib/mod.ts";
import type { CalibrationRange, Calibrator, PassInput } from "../calib/types.ts";
import { NonFiniteValueError } from "../calib/histogram.ts";
import {
  CalibrationWorkers,
  type CalibratorSpec,
  releaseBuffer,
  type SpawnCalibrationWorker,
  type WorkerFailure,
} from "./calibration_workers.ts";
import type { Executor, ExecutorFactory, HostTensor } from "../exec/executor.ts";
import { Graph, type Model, type Node } from "../onnx/ir.ts";
import { encodeModel, opsetVersion } from "../onnx/model.ts";
import { DataType, makeTensor } from "../onnx/tensor.ts";

/** One batch of model inputs (batch dimension first) with optional labels. */
export interface Batch {
  feeds: Record<string, HostTensor>;
  /** Number of samples in the batch. */
  size: number;
  /** Ground-truth class per sample, when known. */
  labels?: number[];
}

/** Re-iterable calibration data: every call starts from the first batch. */
export type BatchSource = () => AsyncIterable<Batch>;

/** Progress callback: pass index (0-based), passes in all, samples done in this pass. */
export type CalibrationProgress = (pass: number, passes: number, samples: number) => void;

/** Thrown when an activation holds NaN or Inf; names the tensor and the sample. */
export class CalibrationError extends Error {
  override name = "CalibrationError";
}

/**
 * A copy of the model (sharing tensors) whose graph outputs also list `names`,
 * so one run returns every tensor to observe.
 *
 * @example
 * ```ts
 * import { Graph } from "../onnx/ir.ts";
 * import { exposeTensors } from "./calibrate.ts";
 * const m = { irVersion: 8, opsetImports: [], producerName: "", producerVersion: "", extra: {},
 *   graph: new Graph("g", [], new Map(), [], [{ name: "y", elemType: 1, shape: [1] }], new Map()) };
 * exposeTensors(m, ["y", "h"]).graph.outputs.map((o) => o.name); // ["y", "h"]
 * ```
 */
export function exposeTensors(model: Model, names: readonly string[]): Model {
  const g = model.graph;
  const present = new Set(g.outputs.map((o) => o.name));
  const extraOutputs = names.filter((n) => !present.has(n)).map((name) => ({
    name,
    elemType: DataType.FLOAT,
    shape: undefined,
  }));
  const graph = Object.assign(Object.create(Object.getPrototypeOf(g)), g, { outputs: [...g.outputs, ...extraOutputs] });
  return { ...model, graph };
}

/** Output names of the in-graph reductions of one tensor (see {@link addRangeReductions}). */
export interface RangeOutputs {
  /** Per-sample minimum, shape [rows]. */
  min: string;
  /** Per-sample maximum, shape [rows]. */
  max: string;
  /** Per-sample sum (NaN iff a value is NaN or both infinities occur), shape [rows]. */
  sum: string;
  /** The tensor's shape as floats, when asked for. */
  shape?: string;
}

/**
 * A copy of the model (sharing tensors) that also outputs, for each of `names`, its per-sample
 * (first dimension) minimum, maximum and sum — and, with `withShapes`, its shape as floats.
 * All of them are also concatenated into one 1-D output, `packed`
 * (`[min₀…, max₀…, sum₀…, min₁…, …]`, each of the tensor's row count), so one output instead of
 * three per tensor crosses from the runtime. Works at any opset from 13 (ReduceMin/ReduceMax take
 * `axes` as an input from opset 18).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Graph } from "../onnx/ir.ts";
 * import { addRangeReductions } from "./calibrate.ts";
 * const m = { irVersion: 8, opsetImports: [{ domain: "", version: 13 }], producerName: "", producerVersion: "",
 *   extra: {}, graph: new Graph("g", [], new Map(), [{ name: "x", elemType: 1, shape: [1, 4] }], [], new Map()) };
 * const { model, outputs, packed } = addRangeReductions(m, ["x"], true);
 * assert.equal(model.graph.outputs.length, 5);
 * assert.equal(outputs.get("x")!.max, model.graph.outputs[1]!.name);
 * assert.equal(packed, model.graph.outputs[4]!.name);
 * ```
 */
export function addRangeReductions(
  model: Model,
  names: readonly string[],
  withShapes: boolean,
): { model: Model; outputs: Map<string, RangeOutputs>; packed: string } {
  const g = model.graph;
  const used = new Set<string>(g.initializers.keys());
  for (const v of [...g.inputs, ...g.outputs]) used.add(v.name);
  for (const n of g.nodes) for (const t of [...n.inputs, ...n.outputs]) used.add(t);
  const fresh = (base: string): string => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
  const axesInInput = opsetVersion(model) >= 18;
  const initializers = new Map(g.initializers);
  const axes = fresh("calib_axes_1");
  if (names.length > 0) initializers.set(axes, makeTensor(axes, DataType.INT64, [1], new BigInt64Array([1n])));
  const nodes: Node[] = [...g.nodes];
  const outputs = new Map<string, RangeOutputs>();
  const graphOutputs = [...g.outputs];
  const op = (opType: string, inputs: string[], output: string, attributes: Node["attributes"] = new Map()) => {
    nodes.push({ name: fresh(`${output}:node`), opType, domain: "", inputs, outputs: [output], attributes });
  };
  const reduce = (opType: string, input: string, output: string, axesAlwaysInput: boolean) => {
    const attributes: Node["attributes"] = new Map([["keepdims", { type: "int", value: 0 }]]);
    if (axesAlwaysInput || axesInInput) op(opType, [input, axes], output, attributes);
    else op(opType, [input], output, attributes.set("axes", { type: "ints", value: [1] }));
  };
  const float = (name: string) => graphOutputs.push({ name, elemType: DataType.FLOAT, shape: undefined });
  const parts: string[] = [];
  for (const t of names) {
    const flat = fresh(`${t}::calib_flat`);
    op("Flatten", [t], flat, new Map([["axis", { type: "int", value: 1 }]]));
    const entry: RangeOutputs = {
      min: fresh(`${t}::calib_min`),
      max: fresh(`${t}::calib_max`),
      sum: fresh(`${t}::calib_sum`),
    };
    reduce("ReduceMin", flat, entry.min, false);
    reduce("ReduceMax", flat, entry.max, false);
    reduce("ReduceSum", flat, entry.sum, true); // ReduceSum takes axes as an input from opset 13
    parts.push(entry.min, entry.max, entry.sum);
    [entry.min, entry.max, entry.sum].forEach(float);
    if (withShapes) {
      const shape = fresh(`${t}::calib_shape_i64`);
      op("Shape", [t], shape);
      entry.shape = fresh(`${t}::calib_shape`);
      op("Cast", [shape], entry.shape, new Map([["to", { type: "int", value: DataType.FLOAT }]]));
      float(entry.shape);
    }
    outputs.set(t, entry);
  }
  const packed = fresh("calib_ranges_packed");
  if (parts.length > 0) {
    op("Concat", parts, packed, new Map([["axis", { type: "int", value: 0 }]]));
    float(packed);
  }
  const graph = new Graph(g.name, nodes, initializers, g.inputs, graphOutputs, g.valueInfo, g.extra);
  return { model: { ...model, graph }, outputs, packed };
}

/**
 * Names the calibrator of one tensor (a registry method and its options). `dims` is the tensor's
 * runtime shape (first batch of pass 0); `undefined` asks for a probe whose `passes` and
 * `passInput(0)` plan the first pass.
 */
export type CalibratorFor = (tensor: string, dims: readonly number[] | undefined) => CalibratorSpec;

/** Options of {@link runCalibration}. */
export interface CalibrationRunOptions {
  /** ONNX Runtime intra-op threads. */
  threads?: number;
  /** Called after every batch. */
  onProgress?: CalibrationProgress;
  /**
   * Observe the tensors that need every value in `count` workers started by `spawn` (see
   * `calibration_workers.ts`), when the first batch carries at least `minValuesPerBatch` of such
   * values (default {@link DEFAULT_WORKER_MIN_VALUES_PER_BATCH}; 0: always). The ranges are the
   * same as without.
   */
  workers?: { spawn: SpawnCalibrationWorker; count: number; minValuesPerBatch?: number };
}

/** What {@link runCalibration} returns. */
export interface CalibrationRun {
  /** The chosen range of every observed tensor. */
  ranges: Map<string, CalibrationRange>;
  /** Passes over the data that were run. */
  passes: number;
  /** Samples per pass. */
  samples: number;
  /** Tensors copied out of the runtime / reduced in-graph, per pass. */
  perPass: { values: number; ranges: number }[];
  /** Workers that observed values (0: all on the main thread). */
  workers: number;
}

/**
 * Runs calibration and returns the chosen range of every observed tensor. Calibrators are
 * created on the first batch, when each tensor's runtime shape is known (MNN's KL falls back to
 * MAX for small spatial sizes). Each pass builds its own graph from `model` (see the module doc).
 *
 * @example
 * ```ts ignore
 * const run = await runCalibration(model, createOrtExecutor, tensors,
 *   (t, dims) => ({ method: "KL", options: { clamp: 127, ...(dims ? { shape: dims } : {}) } }), source);
 * ```
 */
export async function runCalibration(
  model: Model,
  createExecutor: ExecutorFactory,
  tensors: readonly string[],
  calibratorFor: CalibratorFor,
  source: BatchSource,
  options: CalibrationRunOptions = {},
): Promise<CalibrationRun> {
  const workers = options.workers && options.workers.count > 0
    ? new CalibrationWorkers(options.workers.spawn, options.workers.count, workerError)
    : undefined;
  try {
    return await calibrate(model, createExecutor, tensors, calibratorFor, source, options, workers);
  } finally {
    workers?.close();
  }
}

/** {@link runCalibration} with its workers, if any. */
async function calibrate(
  model: Model,
  createExecutor: ExecutorFactory,
  tensors: readonly string[],
  calibratorFor: CalibratorFor,
  source: BatchSource,
  options: CalibrationRunOptions,
  workers: CalibrationWorkers | undefined,
): Promise<CalibrationRun> {
  const build = (spec: CalibratorSpec) => createCalibrator(spec.method, spec.options);
  const probes = new Map(tensors.map((t) => [t, build(calibratorFor(t, undefined))]));
  const calibrators = new Map<string, Calibrator>();
  const passes = Math.max(1, ...[...probes.values()].map((c) => c.passes));
  const execOptions = options.threads ? { threads: options.threads } : {};
  const perPass: CalibrationRun["perPass"] = [];
  /**
   * Builds the calibrators of `names` (graph order). One that needs every value on some pass (on
   * pass 0 as the probes planned it) goes to a worker, when workers are given and a batch carries
   * enough of such values to pay for moving them.
   */
  const buildCalibrators = (names: readonly string[], dimsOf: (t: string) => number[]): void => {
    const built = names.map((t) => {
      const dims = dimsOf(t);
      const spec = calibratorFor(t, dims);
      const calibrator = build(spec);
      const later = Array.from({ length: calibrator.passes - 1 }, (_, p) => calibrator.passInput?.(p + 1) ?? "values");
      const needsValues = (probes.get(t)!.passInput?.(0) ?? "values") === "values" || later.includes("values");
      return { t, spec, calibrator, needsValues, values: dims.reduce((a, b) => a * b, 1) };
    });
    const valuesPerBatch = built.reduce((sum, b) => sum + (b.needsValues ? b.values : 0), 0);
    const remote = workers !== undefined &&
      valuesPerBatch >= (options.workers?.minValuesPerBatch ?? DEFAULT_WORKER_MIN_VALUES_PER_BATCH);
    for (const [i, { t, spec, calibrator, needsValues, values }] of built.entries()) {
      calibrators.set(t, remote && needsValues ? workers.add(t, i, spec, calibrator, values) : calibrator);
    }
  };
  let samples = 0;
  for (let pass = 0; pass < passes; pass++) {
    const inputOf = (t: string): PassInput => {
      const c = pass === 0 ? probes.get(t)! : calibrators.get(t)!;
      if (c.passes <= pass) return "none";
      return c.passInput?.(pass) ?? "values";
    };
    const valueNames = tensors.filter((t) => inputOf(t) === "values");
    const rangeNames = tensors.filter((t) => inputOf(t) === "ranges");
    perPass.push({ values: valueNames.length, ranges: rangeNames.length });
    if (valueNames.length + rangeNames.length === 0) continue;
    // Only range tensors are reduced in-graph. Value tensors are not: measured, ONNX Runtime's
    // reductions (and the per-node overhead of ~4 more nodes per tensor) cost more than the
    // calibrator's own min/max scan of the copied values.
    const reducedNames = rangeNames;
    const reduced = addRangeReductions(exposeTensors(model, valueNames), reducedNames, pass === 0);
    const separate = [...reduced.outputs.values()].flatMap((o) => [o.min, o.max, o.sum, ...(o.shape ? [o.shape] : [])]);
    const exec = await createExecutor(encodeModel(reduced.model), execOptions);
    // Rows per sample of each reduced tensor, learnt on the first batch from the separate outputs;
    // later batches fetch only the packed output (one transfer instead of 3 per tensor) unless
    // the rows are not proportional to the batch size.
    let rowsPerSample: number[] | undefined;
    const valueSet = new Set(valueNames);
    samples = 0;
    try {
      for await (const batch of source()) {
        const packedOnly = rowsPerSample !== undefined;
        const ranges = rangeNames.length === 0 ? [] : packedOnly ? [reduced.packed] : separate;
        const outputs = await exec.run(batch.feeds, [...valueNames, ...ranges]);
        if (calibrators.size === 0) {
          // The first batch builds every calibrator, from the tensors' runtime shapes (the range
          // tensors' come from the in-graph Shape outputs of pass 0).
          const dimsOf = (t: string): number[] => {
            if (valueSet.has(t)) return outputs.get(t)!.dims;
            const shape = reduced.outputs.get(t)?.shape;
            return shape ? Array.from(outputs.get(shape)!.data) : [];
          };
          buildCalibrators(tensors.filter((t) => valueSet.has(t) || reduced.outputs.has(t)), dimsOf);
        }
        const packed = packedOnly && rangeNames.length > 0 ? outputs.get(reduced.packed)!.data : undefined;
        let offset = 0;
        const rows: number[] = [];
        const reductions = new Map<string, { mins: Float32Array; maxs: Float32Array; sums: Float32Array }>();
        workers?.beginBatch(samples, batch.size);
        for (const [j, t] of rangeNames.entries()) {
          const names = reduced.outputs.get(t)!;
          if (packed) {
            const n = rowsPerSample![j]! * batch.size;
            reductions.set(t, {
              mins: packed.subarray(offset, offset + n),
              maxs: packed.subarray(offset + n, offset + 2 * n),
              sums: packed.subarray(offset + 2 * n, offset + 3 * n),
            });
            offset += 3 * n;
          } else {
            const mins = outputs.get(names.min)!.data;
            reductions.set(t, { mins, maxs: outputs.get(names.max)!.data, sums: outputs.get(names.sum)!.data });
            rows.push(mins.length / batch.size);
          }
        }
        // In graph order, so that a NaN is reported at the first tensor that holds it.
        for (const t of tensors) {
          const r = reductions.get(t);
          if (r) {
            if (!allFinite(r.mins, r.maxs, r.sums)) {
              await workers?.settle(); // a worker's failure on an earlier batch or tensor comes first
              await locateNonFinite(model, createExecutor, execOptions, t, batch, samples);
            }
            const c = calibrators.get(t)!;
            if (!c.observeRanges) throw new Error(`Calibrator ${c.method} asked for ranges but has no observeRanges()`);
            c.observeRanges(pass, r.mins, r.maxs);
          } else if (valueSet.has(t)) {
            const tensor = outputs.get(t)!;
            observeValues(calibrators.get(t)!, pass, t, tensor, batch.size, samples);
          }
        }
        if (packed && offset !== packed.length) {
          throw new Error(
            `Packed ranges hold ${packed.length} values, expected ${offset}: tensor rows changed between batches`,
          );
        }
        if (!rowsPerSample && rows.every((r) => Number.isInteger(r))) rowsPerSample = rows;
        await workers?.endBatch();
        samples += batch.size;
        options.onProgress?.(pass, passes, samples);
      }
      await workers?.settle();
    } finally {
      await exec.release();
    }
    if (samples === 0) throw new CalibrationError("The calibration data is empty");
  }
  await workers?.finish();
  const ranges = new Map<string, CalibrationRange>();
  for (const t of tensors) ranges.set(t, calibrators.get(t)!.range());
  return { ranges, passes, samples, perPass, workers: workers?.started ?? 0 };
}

/**
 * Values per batch below which calibration stays on the main thread by default: every value
 * crosses to a worker, and for small batches the messages and the worker's start cost more than
 * binning saves (measured at batch 1: the Fashion-MNIST fixtures, ~137 000 values per image,
 * calibrate slower with a worker; the PaddleOCR classifier, 2.2 million, ~1.4× faster).
 *
 * @example
 * ```ts
 * import { DEFAULT_WORKER_MIN_VALUES_PER_BATCH } from "./calibrate.ts";
 * const bytesPerBatch = 4 * DEFAULT_WORKER_MIN_VALUES_PER_BATCH; // 4 MiB of float32 values
 * ```
 */
export const DEFAULT_WORKER_MIN_VALUES_PER_BATCH = 2 ** 20;

/** The error a worker's failure becomes: the same as on the main thread. */
function workerError(failure: WorkerFailure): Error {
  const { nonFinite } = failure;
  if (nonFinite) return nonFiniteError(failure.tensor, nonFinite.error, nonFinite.perSample, nonFinite.samplesBefore);
  return new Error(failure.message);
}

function observeValues(
  calibrator: Calibrator,
  pass: number,
  name: string,
  tensor: HostTensor,
  batchSize: number,
  samplesBefore: number,
): void {
  // The driver frees (detaches) each output once observed, so a detached one means an aliased output.
  const buffer = tensor.data.buffer;
  if (buffer instanceof ArrayBuffer && buffer.detached) {
    throw new Error(`Cannot observe tensor "${name}": its buffer was already freed`);
  }
  try {
    calibrator.observe(pass, tensor.data);
  } catch (e) {
    if (e instanceof NonFiniteValueError) throw nonFiniteError(name, e, tensor.data.length / batchSize, samplesBefore);
    throw e;
  }
  releaseBuffer(tensor.data); // the driver owns the runtime's outputs (a worker's stand-in has moved it already)
}

function nonFiniteError(name: string, e: NonFiniteValueError, perSample: number, samplesBefore: number): Error {
  const sample = samplesBefore + Math.floor(e.index / perSample);
  const what = Number.isNaN(e.value) ? "NaN" : "Inf";
  return new CalibrationError(
    `Tensor "${name}" holds ${what} on calibration sample ${sample}; check that sample's preprocessing`,
  );
}

function allFinite(mins: Float32Array, maxs: Float32Array, sums: Float32Array): boolean {
  let bad = 0;
  for (let i = 0; i < mins.length; i++) {
    bad += Number(!(Math.abs(mins[i]!) <= Number.MAX_VALUE && Math.abs(maxs[i]!) <= Number.MAX_VALUE));
    bad += Number(Number.isNaN(sums[i]!));
  }
  return bad === 0;
}

/**
 * A reduction saw NaN or ±Inf: run the batch again with the tensor exposed and throw the error
 * naming the first bad value's sample. Returns quietly if there is none (a ReduceSum that
 * overflowed to +Inf and −Inf on finite values).
 */
async function locateNonFinite(
  model: Model,
  createExecutor: ExecutorFactory,
  execOptions: { threads?: number },
  name: string,
  batch: Batch,
  samplesBefore: number,
): Promise<void> {
  let exec: Executor | undefined;
  try {
    exec = await createExecutor(encodeModel(exposeTensors(model, [name])), execOptions);
    const tensor = (await exec.run(batch.feeds, [name])).get(name)!;
    const data = tensor.data;
    for (let i = 0; i < data.length; i++) {
      if (!(Math.abs(data[i]!) <= Number.MAX_VALUE)) {
        throw nonFiniteError(name, new NonFiniteValueError(data[i]!, i), data.length / batch.size, samplesBefore);
      }
    }
  } finally {
    await exec?.release();
  }
}
