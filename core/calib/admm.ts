/**
 * ADMM calibration as MNN's `TensorStatistic::computeScaleADMM` (feature_quantize_method
 * "ADMM"): the scale α is the fixed point of the alternating update
 *
 *     q = clamp(round(x / α), −clamp, clamp),   α = Σ q·x / Σ q²
 *
 * started at α₀ = max|x| / (2.5·clamp) and iterated up to 300 times; the threshold is α·clamp.
 * MNN feeds every calibration image through the model as one batch and iterates over all the
 * values; here the values stream into a 4096-bin |x| histogram (one pass, memory independent of
 * the number of images) and the sums integrate over each bin's values taken as spread evenly
 * within it. The iteration stops early once α no longer changes.
 *
 * @module
 */

import { HistogramCalibrator } from "./_histogram_calibrator.ts";
import type { GrowingAbsHistogram } from "./growing_histogram.ts";
import { PiecewiseUniform } from "./piecewise_uniform.ts";
import type { CalibratorOptions } from "./types.ts";

/** MNN computeScaleADMM: `float alpha = max / (bound * 2.5)`. */
const INITIAL_DIVISOR = 2.5;
/** MNN computeScaleADMM: `const int maxStep = 300`. */
const MAX_STEPS = 300;
const DEFAULT_BINS = 4096;

/**
 * One ADMM update over a histogram: `Σ q·x / Σ q²` with `q = min(clamp, round(x / alpha))`,
 * the values of each bin taken as spread evenly over it (so a bin that a rounding boundary
 * `(q + ½)·alpha` cuts is split there; bin centres alone would make every alpha whose boundaries
 * miss the centres a false fixed point). O(levels) with prefix sums. Returns `alpha` unchanged
 * when every q is 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GrowingAbsHistogram } from "./growing_histogram.ts";
 * import { PiecewiseUniform } from "./piecewise_uniform.ts";
 * import { admmStep } from "./admm.ts";
 * const h = new GrowingAbsHistogram({ binCount: 4 });
 * h.add(new Float32Array([0.3, 0.6])); // edge 1: one value spread over [0.25, 0.5), one over [0.5, 0.75)
 * // alpha 1, clamp 127: the boundary 0.5 is a bin edge; q = 0 below it, q = 1 above → Σq·x / Σq² = 0.625
 * assert.equal(admmStep(new PiecewiseUniform(h), 1, 127), 0.625);
 * ```
 */
export function admmStep(density: PiecewiseUniform, alpha: number, clamp: number): number {
  let qx = 0, qq = 0;
  const top = Math.min(clamp, Math.ceil(density.end / alpha + 0.5));
  for (let q = 1; q <= top; q++) {
    const lo = (q - 0.5) * alpha;
    const hi = q === clamp ? Infinity : (q + 0.5) * alpha;
    const end = Math.min(hi, density.end);
    if (end <= lo) break;
    qx += q * (density.sum(end) - density.sum(lo));
    qq += q * q * (density.count(end) - density.count(lo));
  }
  return qq > 0 ? qx / qq : alpha;
}

/**
 * MNN's ADMM fixed-point iteration over a histogram; returns α (the scale).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GrowingAbsHistogram } from "./growing_histogram.ts";
 * import { admmScale } from "./admm.ts";
 * const h = new GrowingAbsHistogram({ binCount: 1024 });
 * h.add(new Float32Array(5000).map((_, i) => Math.sin(i) * 3));
 * const alpha = admmScale(h, 127);
 * assert.ok(Math.abs(alpha * 127 - 3) < 0.05); // sin · 3 keeps nearly its whole range
 * ```
 */
export function admmScale(histogram: GrowingAbsHistogram, clamp: number): number {
  const density = new PiecewiseUniform(histogram);
  let alpha = histogram.maxAbs / (clamp * INITIAL_DIVISOR);
  for (let step = 0; step < MAX_STEPS; step++) {
    const next = admmStep(density, alpha, clamp);
    if (next === alpha) break;
    alpha = next;
  }
  return alpha;
}

/**
 * ADMM calibrator for one tensor: one pass.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AdmmCalibrator } from "./admm.ts";
 * const calibrator = new AdmmCalibrator({ clamp: 127 });
 * calibrator.observe(0, new Float32Array(5000).map((_, i) => Math.sin(i)));
 * const threshold = calibrator.range().threshold;
 * assert.ok(threshold > 0.5 && threshold <= 1);
 * ```
 */
export class AdmmCalibrator extends HistogramCalibrator {
  /** Config name of this method. */
  readonly method = "ADMM";

  /** Builds a calibrator; `options.bins` (default 4096). */
  constructor(options: CalibratorOptions) {
    super(options, DEFAULT_BINS);
  }

  /** α·clamp at the ADMM fixed point. */
  protected threshold(): number {
    return admmScale(this.histogram, this.clamp) * this.clamp;
  }
}

/**
 * Factory for {@link AdmmCalibrator}, as listed in the registry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAdmmCalibrator } from "./admm.ts";
 * assert.equal(createAdmmCalibrator({ clamp: 127 }).method, "ADMM");
 * ```
 */
export function createAdmmCalibrator(options: CalibratorOptions): AdmmCalibrator {
  return new AdmmCalibrator(options);
}
