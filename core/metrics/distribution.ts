/**
 * Compact summaries of a tensor's values for the debug report: a signed
 * histogram whose range grows as values arrive, and a fixed-size random
 * sample of (float, int8) value pairs. Both use memory independent of the
 * number of samples seen.
 *
 * @module
 */

/** A histogram as stored in the report: `counts[i]` covers [min + i·w, min + (i+1)·w), w = (max − min) / bins. */
export interface HistogramSummary {
  min: number;
  max: number;
  counts: number[];
}

/**
 * Equal-width histogram over a range that doubles (merging bins pairwise,
 * away from the fixed end) whenever a value falls outside it, so no value is
 * ever clamped into an end bin and every count stays exact.
 *
 * @example
 * ```ts
 * import { GrowingHistogram } from "./distribution.ts";
 * const h = new GrowingHistogram(4, 0, 4);
 * h.add(new Float32Array([0.5, 1.5, 7]));
 * h.summary(); // { min: 0, max: 8, counts: [2, 0, 0, 1] }
 * ```
 */
export class GrowingHistogram {
  private counts: Float64Array;
  private lo: number;
  private hi: number;

  /** `bins` equal bins over [lo, hi) to start with (hi > lo, or a tiny range around lo). */
  constructor(readonly bins: number, lo: number, hi: number) {
    if (!(bins >= 2) || bins % 2 !== 0) throw new Error(`GrowingHistogram needs an even bin count ≥ 2, got ${bins}`);
    this.counts = new Float64Array(bins);
    this.lo = lo;
    this.hi = hi > lo ? hi : lo + Math.max(Math.abs(lo) * 1e-6, 1e-12);
  }

  /**
   * Counts `values[start, end)`, every `step`-th one; NaN and infinite values are ignored.
   * Returns the finite extremes of the values counted.
   */
  add(values: Float32Array, start = 0, end = values.length, step = 1): { min: number; max: number } {
    let min = Infinity, max = -Infinity;
    let lo = this.lo, hi = this.hi, scale = this.bins / (hi - lo);
    const counts = this.counts, last = this.bins - 1;
    for (let i = start; i < end; i += step) {
      const x = values[i]!;
      if (!(x >= lo && x < hi)) {
        // Rare: outside the range (grow, then bin with the new width), or not finite (skip).
        if (!Number.isFinite(x)) continue;
        while (x >= this.hi) this.growUp();
        while (x < this.lo) this.growDown();
        lo = this.lo, hi = this.hi, scale = this.bins / (hi - lo);
      }
      if (x < min) min = x;
      if (x > max) max = x;
      const b = ((x - lo) * scale) | 0;
      counts[b > last ? last : b]!++;
    }
    return { min, max };
  }

  /** The bins with empty bins trimmed from both ends (at least one bin kept). */
  summary(): HistogramSummary {
    const width = (this.hi - this.lo) / this.bins;
    let first = 0, last = this.bins - 1;
    while (first < last && this.counts[first] === 0) first++;
    while (last > first && this.counts[last] === 0) last--;
    return {
      min: this.lo + first * width,
      max: this.lo + (last + 1) * width,
      counts: Array.from(this.counts.subarray(first, last + 1)),
    };
  }

  // Doubles the range upwards: bins 2i, 2i+1 merge into bin i.
  private growUp(): void {
    const c = this.counts, half = this.bins / 2;
    for (let i = 0; i < half; i++) c[i] = c[2 * i]! + c[2 * i + 1]!;
    c.fill(0, half);
    this.hi = this.lo + 2 * (this.hi - this.lo);
  }

  // Doubles the range downwards: bins merge pairwise from the top end.
  private growDown(): void {
    const c = this.counts, n = this.bins, half = n / 2;
    for (let i = 0; i < half; i++) c[n - 1 - i] = c[n - 1 - 2 * i]! + c[n - 2 - 2 * i]!;
    c.fill(0, 0, half);
    this.lo = this.hi - 2 * (this.hi - this.lo);
  }
}

/**
 * A uniform random sample of at most `capacity` (float, quantized) value pairs
 * over everything offered (reservoir sampling, Vitter's algorithm R), with a
 * seeded generator so a report is reproducible. Each call looks at `perCall`
 * random positions only, so the cost does not grow with the tensor size.
 *
 * @example
 * ```ts
 * import { PairSampler } from "./distribution.ts";
 * const s = new PairSampler(2, 8, 1);
 * s.add(new Float32Array([1, 2, 3]), new Float32Array([1, 2, 3]));
 * s.pairs().float.length; // 2
 * ```
 */
export class PairSampler {
  private readonly floats: number[] = [];
  private readonly quants: number[] = [];
  private seen = 0;
  private state: number;

  /** Keeps `capacity` pairs, offered `perCall` random positions per `add`; `seed` fixes the draw. */
  constructor(readonly capacity: number, readonly perCall: number, seed: number) {
    this.state = seed >>> 0;
  }

  /** Offers random positions of `float[start, end)` with the matching `quant` values. */
  add(float: Float32Array, quant: Float32Array, start = 0, end = float.length): void {
    const n = end - start;
    if (n <= 0) return;
    const draws = Math.min(this.perCall, n);
    for (let k = 0; k < draws; k++) {
      const i = start + Math.floor(this.random() * n);
      if (this.floats.length < this.capacity) {
        this.floats.push(float[i]!);
        this.quants.push(quant[i]!);
      } else {
        const j = Math.floor(this.random() * (this.seen + 1));
        if (j < this.capacity) {
          this.floats[j] = float[i]!;
          this.quants[j] = quant[i]!;
        }
      }
      this.seen++;
    }
  }

  /** The sample, sorted by float value. */
  pairs(): { float: number[]; quantized: number[] } {
    const order = this.floats.map((_, i) => i).sort((a, b) => this.floats[a]! - this.floats[b]!);
    return { float: order.map((i) => this.floats[i]!), quantized: order.map((i) => this.quants[i]!) };
  }

  // mulberry32 (as core/calib/_test_rng.ts).
  private random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
