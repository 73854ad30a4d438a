/**
 * MinMax calibration: one pass, the range is the smallest and largest value
 * seen. For symmetric int8 the threshold is max(|min|, |max|) — what MNN calls
 * MAX_ABS (in MNN a weight method; its KL uses the same rule for graph inputs).
 *
 * @module
 */

import { NonFiniteValueError } from "./histogram.ts";
import { wasmKernel } from "./_wasm_kernel.ts";

/** Below this many values the copy into WebAssembly memory costs more than the JavaScript loop. */
const WASM_MIN_VALUES = 64;
import type { CalibrationRange, Calibrator, CalibratorOptions, PassInput } from "./types.ts";

/**
 * Tracks the running minimum and maximum of a tensor in one pass.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MinMaxCalibrator } from "./minmax.ts";
 * const calibrator = new MinMaxCalibrator({ clamp: 127 });
 * calibrator.observe(0, new Float32Array([-0.5, 0.25]));
 * calibrator.observe(0, new Float32Array([2, 1]));
 * assert.deepEqual(calibrator.range(), { min: -0.5, max: 2, threshold: 2, observedMin: -0.5, observedMax: 2 });
 * ```
 */
export class MinMaxCalibrator implements Calibrator {
  /** Config name of this method. */
  readonly method = "MINMAX";
  /** One pass over the calibration data. */
  readonly passes = 1;
  /** Smallest value seen so far (Infinity before any). */
  min = Infinity;
  /** Largest value seen so far (-Infinity before any). */
  max = -Infinity;
  /** Number of values seen so far (on range passes: samples). */
  count = 0;

  /** Builds an empty calibrator; MinMax uses no option. */
  constructor(_options: CalibratorOptions) {}

  /** Folds `values` into the running min/max; throws `NonFiniteValueError` on NaN or ±Infinity. */
  observe(pass: number, values: Float32Array): void {
    if (pass !== 0) throw new RangeError(`Cannot observe pass ${pass}: MINMAX has 1 pass (pass 0)`);
    this.include(values);
  }

  /** MinMax needs only each sample's min and max, which the runtime can compute in-graph. */
  passInput(_pass: number): PassInput {
    return "ranges";
  }

  /** Folds per-sample minima and maxima (finite, checked by the driver) into the running range. */
  observeRanges(pass: number, mins: Float32Array, maxs: Float32Array): void {
    if (pass !== 0) throw new RangeError(`Cannot observe pass ${pass}: MINMAX has 1 pass (pass 0)`);
    this.includeRanges(mins, maxs);
  }

  /** Folds per-sample minima and maxima whatever the pass; other calibrators use it for their range pass. */
  includeRanges(mins: Float32Array, maxs: Float32Array): void {
    let min = this.min, max = this.max;
    for (let i = 0; i < mins.length; i++) min = mins[i]! < min ? mins[i]! : min;
    for (let i = 0; i < maxs.length; i++) max = maxs[i]! > max ? maxs[i]! : max;
    this.min = min;
    this.max = max;
    this.count += mins.length;
  }

  /**
   * Folds `values` into the running min/max whatever the pass; other calibrators
   * use it for their range pass.
   */
  include(values: Float32Array): void {
    const n = values.length;
    if (n === 0) return;
    const kernel = n >= WASM_MIN_VALUES ? wasmKernel() : null;
    if (kernel) {
      kernel.load(values);
      const range = kernel.range(n);
      if (Math.abs(range.min) <= Number.MAX_VALUE && Math.abs(range.max) <= Number.MAX_VALUE) {
        this.min = Math.min(this.min, range.min);
        this.max = Math.max(this.max, range.max);
        this.count += n;
        return;
      } // else: the loop below finds the first NaN / Inf and throws
    }
    let min = Infinity;
    let max = -Infinity;
    let nonFinite = 0;
    // no Math.min/max: with many equal values (ReLU zeros) V8's ±0 handling makes them ~5× slower
    for (let i = 0; i < n; i++) {
      const value = values[i]!;
      min = value < min ? value : min;
      max = value > max ? value : max;
      nonFinite += Number(!(Math.abs(value) <= Number.MAX_VALUE));
    }
    if (nonFinite > 0) {
      for (let i = 0; i < n; i++) {
        const value = values[i]!;
        if (!(Math.abs(value) <= Number.MAX_VALUE)) throw new NonFiniteValueError(value, i);
      }
    }
    this.min = Math.min(this.min, min);
    this.max = Math.max(this.max, max);
    this.count += n;
  }

  /** `{min, max}` as observed; `threshold` is max(|min|, |max|). Throws if nothing was observed. */
  range(): CalibrationRange {
    if (this.count === 0) throw new Error("Cannot compute MINMAX range: no values were observed");
    const { min, max } = this;
    return { min, max, threshold: Math.max(Math.abs(min), Math.abs(max)), observedMin: min, observedMax: max };
  }
}

/**
 * Factory for {@link MinMaxCalibrator}, as listed in the registry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMinMaxCalibrator } from "./minmax.ts";
 * const calibrator = createMinMaxCalibrator({ clamp: 127 });
 * calibrator.observe(0, new Float32Array([-3, 1]));
 * assert.equal(calibrator.range().threshold, 3);
 * ```
 */
export function createMinMaxCalibrator(options: CalibratorOptions): MinMaxCalibrator {
  return new MinMaxCalibrator(options);
}
