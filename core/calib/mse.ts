/**
 * MSE calibration: the |x| threshold T that minimises the expected squared error of
 * symmetric quantization with step `T / clamp`, computed over a one-pass |x| histogram.
 *
 * For each candidate T the error is exact for values spread evenly within each bin: values up to
 * T contribute their rounding error to the grid `k·T/clamp`, values above T their clipping
 * error `(x − T)²`, summed level by level from prefix sums of the count, Σx and Σx². Exact zeros
 * are kept apart (they quantize without error).
 * Candidates are the bin edges up to max |x|: every `⌈K/128⌉`-th edge first, then every edge
 * around the best of those.
 *
 * @module
 */

import { HistogramCalibrator } from "./_histogram_calibrator.ts";
import type { GrowingAbsHistogram } from "./growing_histogram.ts";
import { PiecewiseUniform } from "./piecewise_uniform.ts";
import type { CalibratorOptions } from "./types.ts";

const DEFAULT_BINS = 2048;
/** Candidates of the coarse scan before refining around its best. */
const COARSE_CANDIDATES = 128;

/**
 * Expected total squared error of quantizing the histogram's values symmetrically with
 * threshold `threshold` and `clamp` levels per side (values uniform within each bin; exact zeros
 * quantize without error). O(levels) with prefix sums.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GrowingAbsHistogram } from "./growing_histogram.ts";
 * import { PiecewiseUniform } from "./piecewise_uniform.ts";
 * import { quantizationError } from "./mse.ts";
 * const h = new GrowingAbsHistogram({ binCount: 2 });
 * h.add(new Float32Array([0.25, 0.75])); // edge 1: bins [0, 0.5) and [0.5, 1), one value each
 * // T = 0.5 with 1 level: bin 0 rounds to the grid {0, 0.5}: mean error (0.5)²/12; bin 1 is clipped:
 * // mean of (x − 0.5)² over [0.5, 1) = 0.5²/3
 * const error = quantizationError(new PiecewiseUniform(h), 0.5, 1);
 * assert.ok(Math.abs(error - (0.25 / 12 + 0.25 / 3)) < 1e-12);
 * ```
 */
export function quantizationError(density: PiecewiseUniform, threshold: number, clamp: number): number {
  const s = threshold / clamp;
  let error = 0;
  // level q takes [(q − ½)s, (q + ½)s); the top level also everything above (clipped to T)
  for (let q = 0; q <= clamp; q++) {
    const lo = Math.max(0, (q - 0.5) * s);
    if (lo >= density.end) break;
    const hi = q === clamp ? density.end : Math.min(density.end, (q + 0.5) * s);
    const level = q * s;
    const n = density.count(hi) - density.count(lo);
    const x = density.sum(hi) - density.sum(lo);
    const x2 = density.sumSq(hi) - density.sumSq(lo);
    error += x2 - 2 * level * x + level * level * n; // Σ (x − level)²
  }
  return Math.max(0, error);
}

/**
 * The threshold with the least {@link quantizationError} among the histogram's bin edges up
 * to max |x| (and max |x| itself).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GrowingAbsHistogram } from "./growing_histogram.ts";
 * import { PiecewiseUniform } from "./piecewise_uniform.ts";
 * import { mseThreshold, quantizationError } from "./mse.ts";
 * const h = new GrowingAbsHistogram({ binCount: 1024, deadZone: 0 });
 * h.add(new Float32Array(10_000).map((_, i) => Math.tan(i) / 100)); // heavy tails
 * const threshold = mseThreshold(h, 127);
 * const density = new PiecewiseUniform(h);
 * assert.ok(threshold < h.maxAbs);
 * assert.ok(quantizationError(density, threshold, 127) < quantizationError(density, h.maxAbs, 127));
 * ```
 */
export function mseThreshold(histogram: GrowingAbsHistogram, clamp: number): number {
  const density = new PiecewiseUniform(histogram);
  const width = histogram.binWidth;
  const maxAbs = histogram.maxAbs;
  const edges = Math.max(1, Math.ceil(maxAbs / width));
  const candidate = (k: number) => Math.min(k * width, maxAbs);
  const step = Math.max(1, Math.ceil(edges / COARSE_CANDIDATES));
  let best = edges;
  let bestError = quantizationError(density, candidate(edges), clamp);
  for (let k = step; k < edges; k += step) {
    const error = quantizationError(density, candidate(k), clamp);
    if (error < bestError) [best, bestError] = [k, error];
  }
  for (let k = Math.max(1, best - step + 1); k < Math.min(edges, best + step); k++) {
    const error = quantizationError(density, candidate(k), clamp);
    if (error < bestError) [best, bestError] = [k, error];
  }
  return candidate(best);
}

/**
 * MSE calibrator for one tensor: one pass.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MseCalibrator } from "./mse.ts";
 * const calibrator = new MseCalibrator({ clamp: 127 });
 * calibrator.observe(0, new Float32Array(10_000).map((_, i) => Math.tan(i) / 100));
 * const range = calibrator.range();
 * assert.ok(range.threshold < range.observedMax);
 * ```
 */
export class MseCalibrator extends HistogramCalibrator {
  /** Config name of this method. */
  readonly method = "MSE";

  /** Builds a calibrator; `options.bins` (default 2048). */
  constructor(options: CalibratorOptions) {
    super(options, DEFAULT_BINS, 0);
  }

  /** The least-squared-error threshold. */
  protected threshold(): number {
    return mseThreshold(this.histogram, this.clamp);
  }
}

/**
 * Factory for {@link MseCalibrator}, as listed in the registry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createMseCalibrator } from "./mse.ts";
 * assert.equal(createMseCalibrator({ clamp: 127 }).passes, 1);
 * ```
 */
export function createMseCalibrator(options: CalibratorOptions): MseCalibrator {
  return new MseCalibrator(options);
}
