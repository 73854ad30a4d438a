/**
 * Activation calibrators and the registry that maps config names to them.
 * Adding a method: a new `<method>.ts` beside its test, plus one line in `calibrators`.
 *
 * @module
 */

import { createKlCalibrator } from "./kl.ts";
import { createMinMaxCalibrator } from "./minmax.ts";
import type { Calibrator, CalibratorFactory, CalibratorOptions } from "./types.ts";

export type { CalibrationRange, Calibrator, CalibratorFactory, CalibratorOptions } from "./types.ts";
export { AbsHistogram, type AbsHistogramOptions, NonFiniteValueError } from "./histogram.ts";
export { createMinMaxCalibrator, MinMaxCalibrator } from "./minmax.ts";
export { createKlCalibrator, type KlCalibrationRange, KlCalibrator, klThresholdBin } from "./kl.ts";

/**
 * Every calibration method by its upper-case config name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { calibrators } from "./mod.ts";
 * assert.deepEqual(Object.keys(calibrators).sort(), ["KL", "MAX_ABS", "MINMAX"]);
 * ```
 */
export const calibrators: Readonly<Record<string, CalibratorFactory>> = {
  MINMAX: createMinMaxCalibrator,
  MAX_ABS: createMinMaxCalibrator, // MNN's name for symmetric max |x|
  KL: createKlCalibrator,
};

/**
 * Builds the calibrator for `method` (case-insensitive), or throws naming the known methods.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCalibrator } from "./mod.ts";
 * assert.equal(createCalibrator("kl", { clamp: 127 }).passes, 2);
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
