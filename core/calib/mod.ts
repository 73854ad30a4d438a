/**
 * Activation calibrators and the registry that maps config names to them.
 * Adding a method: a new `<method>.ts` beside its test, plus one line in `calibrators`.
 *
 * @module
 */

import { createAdmmCalibrator } from "./admm.ts";
import { createEmaCalibrator } from "./ema.ts";
import { createKlCalibrator } from "./kl.ts";
import { createMinMaxCalibrator } from "./minmax.ts";
import { createMseCalibrator } from "./mse.ts";
import { createPercentileCalibrator } from "./percentile.ts";
import type { Calibrator, CalibratorFactory, CalibratorOptions } from "./types.ts";

export type {
  CalibrationRange,
  Calibrator,
  CalibratorFactory,
  CalibratorOptions,
  PassInput,
  ValueRange,
} from "./types.ts";
export { AbsHistogram, type AbsHistogramOptions, NonFiniteValueError } from "./histogram.ts";
export { createMinMaxCalibrator, MinMaxCalibrator } from "./minmax.ts";
export { createKlCalibrator, type KlCalibrationRange, KlCalibrator, klThresholdBin } from "./kl.ts";
export { GrowingAbsHistogram, type GrowingAbsHistogramOptions, resampleHistogram } from "./growing_histogram.ts";
export { PiecewiseUniform } from "./piecewise_uniform.ts";
export type { HistogramCalibrationRange } from "./_histogram_calibrator.ts";
export { createEmaCalibrator, EmaCalibrator, nudgedRange } from "./ema.ts";
export { AdmmCalibrator, admmScale, admmStep, createAdmmCalibrator } from "./admm.ts";
export { createPercentileCalibrator, DEFAULT_PERCENTILE, PercentileCalibrator, percentileOf } from "./percentile.ts";
export { createMseCalibrator, MseCalibrator, mseThreshold, quantizationError } from "./mse.ts";

/**
 * Every calibration method by its upper-case config name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { calibrators } from "./mod.ts";
 * assert.deepEqual(Object.keys(calibrators).sort(), ["ADMM", "EMA", "KL", "MAX_ABS", "MINMAX", "MSE", "PERCENTILE"]);
 * ```
 */
export const calibrators: Readonly<Record<string, CalibratorFactory>> = {
  MINMAX: createMinMaxCalibrator,
  MAX_ABS: createMinMaxCalibrator, // MNN's name for symmetric max |x|
  KL: createKlCalibrator,
  EMA: createEmaCalibrator, // MNN's asymmetric moving average of per-batch ranges
  ADMM: createAdmmCalibrator, // MNN's ADMM scale
  PERCENTILE: createPercentileCalibrator, // ORT's percentile of |x|
  MSE: createMseCalibrator, // least expected squared quantization error
};

/**
 * Builds the calibrator for `method` (case-insensitive), or throws naming the known methods.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCalibrator } from "./mod.ts";
 * assert.equal(createCalibrator("kl", { clamp: 127 }).passes, 1); // one range-growing pass (klPasses: 2 for MNN's two)
 * assert.throws(() => createCalibrator("entropy", { clamp: 127 }), /Unknown calibration method "entropy"/);
 * ```
 */
export function createCalibrator(method: string, options: CalibratorOptions): Calibrator {
  const key = method.toUpperCase();
  const factory = Object.hasOwn(calibrators, key) ? calibrators[key] : undefined;
  if (!factory) {
    const known = Object.keys(calibrators).sort().join(", ");
    throw new Error(`Unknown calibration method "${method}"; known: ${known}`);
  }
  return factory(options);
}
