/**
 * The contract every activation calibrator implements.
 *
 * A calibrator watches one tensor. The pipeline runs the float model over the
 * calibration set `passes` times; on pass `p` it hands every batch of the
 * tensor's values to `observe(p, values)`. After the last pass, `range()`
 * returns the float clipping range that the quantizer turns into a scale and
 * zero point. Calibrators are streaming: their memory never depends on the
 * number of samples seen.
 *
 * @module
 */

/**
 * A float clipping range chosen by a calibrator. `min <= 0 <= max` is not required.
 *
 * @example
 * ```ts
 * import type { CalibrationRange } from "./types.ts";
 * const symmetric: CalibrationRange = { min: -2, max: 2, threshold: 2, observedMin: -1.5, observedMax: 3 };
 * const scale = symmetric.threshold! / 127;
 * ```
 */
export interface CalibrationRange {
  /** Lowest value kept unclipped. */
  readonly min: number;
  /** Highest value kept unclipped. */
  readonly max: number;
  /**
   * For symmetric methods, the |x| threshold: the int8 scale is `threshold / clamp`.
   * Absent for methods that only yield min/max.
   */
  readonly threshold?: number;
  /** Smallest value observed (not clipped). */
  readonly observedMin: number;
  /** Largest value observed (not clipped). */
  readonly observedMax: number;
}

/**
 * Options shared by all calibrators.
 *
 * @example
 * ```ts
 * import type { CalibratorOptions } from "./types.ts";
 * const options: CalibratorOptions = { clamp: 127, shape: [1, 64, 56, 56] };
 * ```
 */
export interface CalibratorOptions {
  /** Largest quantized magnitude, e.g. 127 (MNN `feature_clamp_value`). */
  readonly clamp: number;
  /**
   * The tensor's shape for one forward run, NCHW with batch first, when known.
   * KL uses it for MNN's small-tensor rule (`height * width < 100` falls back to MAX);
   * when absent, that rule is not applied.
   */
  readonly shape?: readonly number[];
}

/**
 * One streaming observer of one tensor.
 *
 * @example
 * ```ts
 * import type { Calibrator } from "./types.ts";
 * function calibrate(calibrator: Calibrator, batches: Float32Array[]) {
 *   for (let pass = 0; pass < calibrator.passes; pass++) {
 *     for (const batch of batches) calibrator.observe(pass, batch);
 *   }
 *   return calibrator.range();
 * }
 * ```
 */
export interface Calibrator {
  /** Method name as users write it in configs, e.g. `"KL"`. */
  readonly method: string;
  /** How many passes over the calibration data this method needs (1 or 2). */
  readonly passes: number;
  /**
   * Feed one batch of this tensor's values during pass `pass` (0-based).
   * Must not keep a reference to `values` beyond the call. Throws a
   * `NonFiniteValueError` (see `histogram.ts`) on NaN or ±Infinity; the
   * calibrator is then unusable and should be discarded.
   */
  observe(pass: number, values: Float32Array): void;
  /** The chosen range; call once after the last pass. */
  range(): CalibrationRange;
}

/**
 * Builds a fresh calibrator for one tensor.
 *
 * @example
 * ```ts
 * import type { CalibratorFactory } from "./types.ts";
 * const constantRange: CalibratorFactory = () => ({
 *   method: "CONSTANT",
 *   passes: 1,
 *   observe() {},
 *   range: () => ({ min: -1, max: 1, observedMin: -1, observedMax: 1 }),
 * });
 * ```
 */
export type CalibratorFactory = (options: CalibratorOptions) => Calibrator;
