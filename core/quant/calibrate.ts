/**
 * The calibration driver: runs the float model (with the tensors to observe
 * exposed as outputs) over the data once per pass the methods need, and
 * streams every tensor to its calibrator. Nothing is kept per sample.
 *
 * @module
 */

import type { CalibrationRange, Calibrator } from "../calib/types.ts";
import { NonFiniteValueError } from "../calib/histogram.ts";
import type { Executor, HostTensor } from "../exec/executor.ts";
import type { Model } from "../onnx/ir.ts";
import { DataType } from "../onnx/tensor.ts";

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

/** Builds the calibrator of one tensor once its runtime shape is known (first batch of pass 0). */
export type CalibratorFor = (tensor: string, dims: readonly number[]) => Calibrator;

/**
 * Runs calibration and returns the chosen range of every observed tensor.
 * Calibrators are created on the first batch, when each tensor's runtime
 * shape is known (MNN's KL falls back to MAX for small spatial sizes).
 *
 * @example
 * ```ts ignore
 * const ranges = await runCalibration(exec, tensors, (t, dims) => createCalibrator("KL", { clamp: 127, shape: dims }), source);
 * ```
 */
export async function runCalibration(
  exec: Executor,
  tensors: readonly string[],
  calibratorFor: CalibratorFor,
  source: BatchSource,
  onProgress?: CalibrationProgress,
): Promise<Map<string, CalibrationRange>> {
  const calibrators = new Map<string, Calibrator>();
  let passes = 1;
  for (let pass = 0; pass < passes; pass++) {
    const names = pass === 0 ? tensors : tensors.filter((t) => calibrators.get(t)!.passes > pass);
    let samples = 0;
    for await (const batch of source()) {
      const outputs = await exec.run(batch.feeds, names);
      for (const name of names) {
        const t = outputs.get(name)!;
        let calibrator = calibrators.get(name);
        if (!calibrator) {
          calibrator = calibratorFor(name, t.dims);
          calibrators.set(name, calibrator);
          passes = Math.max(passes, calibrator.passes);
        }
        try {
          calibrator.observe(pass, t.data);
        } catch (e) {
          if (e instanceof NonFiniteValueError) {
            const perSample = t.data.length / batch.size;
            const sample = samples + Math.floor(e.index / perSample);
            const what = Number.isNaN(e.value) ? "NaN" : "Inf";
            throw new CalibrationError(
              `Tensor "${name}" holds ${what} on calibration sample ${sample}; check that sample's preprocessing`,
            );
          }
          throw e;
        }
      }
      samples += batch.size;
      onProgress?.(pass, passes, samples);
    }
    if (samples === 0) throw new CalibrationError("The calibration data is empty");
  }
  const ranges = new Map<string, CalibrationRange>();
  for (const [name, c] of calibrators) ranges.set(name, c.range());
  return ranges;
}
