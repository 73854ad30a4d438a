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
 * The smallest and largest of a batch of values, both finite.
 *
 * @example
 * ```ts
 * import type { ValueRange } from "./types.ts";
 * const range: ValueRange = { min: -0.5, max: 6 };
 * ```
 */
export interface ValueRange {
  readonly min: number;
  readonly max: number;
}

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
  /** Percentile method: the share of |x| kept unclipped, in percent (default 99.999, as ORT). */
  readonly percentile?: number;
  /** Histogram methods: number of bins (a power of two; each method has its default). */
  readonly bins?: number;
  /** EMA: samples per moving-average step (MNN `batch_size`, default 32). */
  readonly emaBatchSize?: number;
  /** EMA: weight of the old value per step (MNN momentum, default 0.99). */
  readonly emaDecay?: number;
  /** KL: 2 (default, MNN's range pass then histogram pass) or 1 (one range-growing histogram pass). */
  readonly klPasses?: number;
}

/**
 * What a calibrator reads on one pass: every value, only each sample's minimum and
 * maximum (which the runtime can compute in-graph, so nothing else is copied out), or nothing.
 *
 * @example
 * ```ts
 * import type { PassInput } from "./types.ts";
 * const rangePass: PassInput = "ranges";
 * ```
 */
export type PassInput = "values" | "ranges" | "none";

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
  /**
   * What pass `pass` needs (default: `"values"` on every pass). It depends only on the
   * method, its options and, after the first batch, the tensor's shape; a driver may ask a
   * calibrator built without a shape for pass 0.
   */
  passInput?(pass: number): PassInput;
  /**
   * Feeds one batch on a `"ranges"` pass: `mins[i]` and `maxs[i]` are the smallest and largest
   * value of sample `i` (finite: the driver rejects NaN and ±Infinity itself).
   */
  observeRanges?(pass: number, mins: Float32Array, maxs: Float32Array): void;
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
