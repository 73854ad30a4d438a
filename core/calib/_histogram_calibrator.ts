/**
 * The shared skeleton of the one-pass histogram calibrators (Percentile, MSE, ADMM): stream
 * every value into a {@link GrowingAbsHistogram}, then pick a symmetric |x| threshold from it.
 *
 * @module
 */

import { GrowingAbsHistogram } from "./growing_histogram.ts";
import type { CalibrationRange, Calibrator, CalibratorOptions, PassInput } from "./types.ts";

/** The chosen threshold with what it was chosen from. */
export interface HistogramCalibrationRange extends CalibrationRange {
  /** The |x| threshold; the int8 scale is `threshold / clamp`. */
  readonly threshold: number;
  /** Width of one histogram bin. */
  readonly binWidth: number;
}

/**
 * Base class: one pass over every value, a symmetric threshold at the end.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HistogramCalibrator } from "./_histogram_calibrator.ts";
 * class Max extends HistogramCalibrator {
 *   readonly method = "MAX";
 *   protected threshold(): number {
 *     return this.histogram.maxAbs;
 *   }
 * }
 * const calibrator = new Max({ clamp: 127 }, 16);
 * calibrator.observe(0, new Float32Array([-3, 1]));
 * assert.deepEqual([calibrator.range().threshold, calibrator.range().min], [3, -3]);
 * ```
 */
export abstract class HistogramCalibrator implements Calibrator {
  /** Config name of the method. */
  abstract readonly method: string;
  /** One pass: the histogram's range grows with the data. */
  readonly passes = 1;
  /** The |x| histogram of everything observed. */
  protected readonly histogram: GrowingAbsHistogram;
  /** Largest quantized magnitude. */
  protected readonly clamp: number;
  #result: HistogramCalibrationRange | undefined;

  /** `defaultBins` unless `options.bins` is given; `deadZone` as in {@link GrowingAbsHistogram}. */
  constructor(options: CalibratorOptions, defaultBins: number, deadZone?: number) {
    this.clamp = options.clamp;
    this.histogram = new GrowingAbsHistogram({
      binCount: options.bins ?? defaultBins,
      ...(deadZone === undefined ? {} : { deadZone }),
    });
  }

  /** Every value is needed. */
  passInput(_pass: number): PassInput {
    return "values";
  }

  /** Bins `values`; throws `NonFiniteValueError` on NaN or ±Infinity. */
  observe(pass: number, values: Float32Array): void {
    if (pass !== 0) throw new RangeError(`Cannot observe pass ${pass}: ${this.method} has 1 pass (pass 0)`);
    this.histogram.add(values);
    this.#result = undefined;
  }

  /** `[-threshold, threshold]` intersected with what was observed; throws if nothing was. */
  range(): HistogramCalibrationRange {
    if (this.#result) return this.#result;
    const h = this.histogram;
    if (h.count === 0) throw new Error(`Cannot compute ${this.method} range: no values were observed`);
    const maxAbs = h.maxAbs;
    const threshold = maxAbs === 0 ? 0 : Math.min(maxAbs, this.threshold());
    h.release(); // frees the WebAssembly counts; a later observe() allocates again
    this.#result = {
      min: Math.max(-threshold, h.min),
      max: Math.min(threshold, h.max),
      threshold,
      observedMin: h.min,
      observedMax: h.max,
      binWidth: h.binWidth,
    };
    return this.#result;
  }

  /** The method's |x| threshold from `this.histogram` (called only when max |x| > 0). */
  protected abstract threshold(): number;
}
