/**
 * A |x| histogram read as a piecewise-uniform density (each bin's values spread evenly over the
 * bin), with prefix sums so that the count, sum and sum of squares of the values below any t
 * cost O(1). The ADMM update and the MSE error then take O(levels) instead of O(bins) each.
 *
 * @module
 */

import type { GrowingAbsHistogram } from "./growing_histogram.ts";

/**
 * Count, Σx and Σx² of the values with |x| < t, for any t.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GrowingAbsHistogram } from "./growing_histogram.ts";
 * import { PiecewiseUniform } from "./piecewise_uniform.ts";
 * const h = new GrowingAbsHistogram({ binCount: 2 });
 * h.add(new Float32Array([0.25, 0.75, 0.75])); // edge 1: one value over [0, 0.5), two over [0.5, 1)
 * const p = new PiecewiseUniform(h);
 * assert.equal(p.count(0.75), 2); // all of bin 0, half of bin 1
 * assert.equal(p.sum(1), 0.25 + 2 * 0.75);
 * ```
 */
export class PiecewiseUniform {
  /** Bin width. */
  readonly width: number;
  /** Values at exactly 0 (the histogram's dead zone, if any). */
  readonly zeros: number;
  readonly #n: Float64Array;
  readonly #count: Float64Array;
  readonly #sum: Float64Array;
  readonly #sumSq: Float64Array;

  /** Prefix sums of `histogram` (dead-zone values are taken as zeros). */
  constructor(histogram: GrowingAbsHistogram) {
    const counts = histogram.counts;
    const w = histogram.binWidth;
    const bins = counts.length;
    this.width = w;
    this.zeros = histogram.skipped;
    this.#n = counts;
    this.#count = new Float64Array(bins + 1);
    this.#sum = new Float64Array(bins + 1);
    this.#sumSq = new Float64Array(bins + 1);
    for (let k = 0; k < bins; k++) {
      const n = counts[k]!, a = k * w, b = a + w;
      this.#count[k + 1] = this.#count[k]! + n;
      this.#sum[k + 1] = this.#sum[k]! + (n * (a + b)) / 2;
      this.#sumSq[k + 1] = this.#sumSq[k]! + (n * (a * a + a * b + b * b)) / 3;
    }
  }

  #bin(t: number): number {
    return Math.min(this.#n.length, Math.max(0, Math.floor(t / this.width)));
  }

  /** Number of values with |x| < t (t > 0 includes the zeros). */
  count(t: number): number {
    if (!(t > 0)) return 0;
    const j = this.#bin(t);
    const partial = j < this.#n.length ? (this.#n[j]! * (t - j * this.width)) / this.width : 0;
    return this.zeros + this.#count[j]! + partial;
  }

  /** Σ|x| over the values with |x| < t. */
  sum(t: number): number {
    if (!(t > 0)) return 0;
    const j = this.#bin(t), a = j * this.width;
    const partial = j < this.#n.length ? (this.#n[j]! * (t * t - a * a)) / (2 * this.width) : 0;
    return this.#sum[j]! + partial;
  }

  /** Σx² over the values with |x| < t. */
  sumSq(t: number): number {
    if (!(t > 0)) return 0;
    const j = this.#bin(t), a = j * this.width;
    const partial = j < this.#n.length ? (this.#n[j]! * (t * t * t - a * a * a)) / (3 * this.width) : 0;
    return this.#sumSq[j]! + partial;
  }

  /** Upper end of the data: no value has |x| at or above it. */
  get end(): number {
    return this.#n.length * this.width;
  }
}
