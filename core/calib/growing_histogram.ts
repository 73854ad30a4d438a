/**
 * A streaming histogram of |x| whose range grows with the data, so that a
 * histogram method (Percentile, MSE, ADMM, one-pass KL) needs one pass over
 * the calibration data instead of a range pass plus a histogram pass.
 *
 * The range is `[0, edge)` with `edge` a power of two strictly above the
 * largest |x| seen. When a larger |x| arrives, `edge` doubles (as often as
 * needed) and neighbouring bins are merged in pairs. With a power-of-two bin
 * count, bin `k` of range `edge` is exactly bins `2k` and `2k + 1` of range
 * `edge / 2` (|x| · binCount / edge is a product by a power of two, exact in
 * float64), so the result equals a histogram built with the final range from
 * the start: nothing is approximated by growing. The price is resolution: the
 * data fill between half and all of the bins.
 *
 * Memory is `binCount` doubles plus `2 · binCount` 32-bit counters in WebAssembly memory (`5 ·
 * binCount` in JavaScript arrays when WebAssembly is off), whatever the number of values,
 * allocated on the first value; no per-value allocation.
 *
 * @module
 */

import { NonFiniteValueError } from "./histogram.ts";
import type { ValueRange } from "./types.ts";
import { SUB_HISTOGRAMS, type WasmKernel, wasmKernel } from "./_wasm_kernel.ts";

/** Largest float32; a bins-per-unit factor above it cannot be passed to the WebAssembly kernel. */
const MAX_FLOAT32 = 3.4028234663852886e38;

/** Largest finite float64; `!(|x| <= MAX_FINITE)` is true exactly for NaN and ±Infinity. */
const MAX_FINITE = Number.MAX_VALUE;
/** Values handled per inner loop; keeps every per-bin `Uint32Array` count below 2^32. */
const CHUNK = 2 ** 30;
/** Flush the `Uint32Array` counts into the `Float64Array` before they could wrap. */
const PENDING_LIMIT = 2 ** 32 - 1 - CHUNK;

/**
 * Options for {@link GrowingAbsHistogram}.
 *
 * @example
 * ```ts
 * import type { GrowingAbsHistogramOptions } from "./growing_histogram.ts";
 * const options: GrowingAbsHistogramOptions = { binCount: 2048, deadZone: 0 }; // exact zeros kept apart
 * ```
 */
export interface GrowingAbsHistogramOptions {
  /** Number of equal-width bins over `[0, edge)`; a power of two, at least 2. */
  readonly binCount: number;
  /**
   * Values with |x| <= `deadZone` are counted in `count` and `skipped` but not binned.
   * Default: none skipped (zeros go to bin 0). `0` sets exact zeros apart (ReLU outputs).
   */
  readonly deadZone?: number;
  /** Use the WebAssembly SIMD kernel where available (default true); false: the JavaScript loops. */
  readonly wasm?: boolean;
}

/**
 * A |x| histogram over `[0, edge)` that doubles `edge` whenever a value does not fit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GrowingAbsHistogram } from "./growing_histogram.ts";
 * const histogram = new GrowingAbsHistogram({ binCount: 4 });
 * histogram.add(new Float32Array([0.25, -0.75])); // edge 1: bins of 0.25
 * assert.equal(histogram.edge, 1);
 * histogram.add(new Float32Array([3])); // edge grows to 4: bins of 1, earlier bins merged
 * assert.equal(histogram.edge, 4);
 * assert.deepEqual([...histogram.counts], [2, 0, 0, 1]);
 * assert.deepEqual([histogram.min, histogram.max, histogram.count], [-0.75, 3, 3]);
 * ```
 */
export class GrowingAbsHistogram {
  /** Number of bins. */
  readonly binCount: number;
  /** |x| at or below this is not binned; -1 when nothing is skipped. */
  readonly deadZone: number;
  /** Smallest value added (Infinity before any). */
  min = Infinity;
  /** Largest value added (-Infinity before any). */
  max = -Infinity;
  /** Number of values added, binned or not. */
  count = 0;

  #edge = 0;
  #binsPerUnit = 0;
  /** Allocated on first use, like the pending counts: a histogram that never sees a value costs nothing. */
  #counts: Float64Array | undefined;
  #skipped = 0;
  /**
   * The JavaScript paths' counts since the last flush (integer increments are much faster than
   * float ones); slot `binCount` is the dead zone. Unused (never allocated) with the WebAssembly kernel.
   */
  #pending: Uint32Array | undefined;
  /**
   * The JavaScript fast path's counts: four interleaved sub-histograms (value i goes to
   * sub-histogram i mod 4), so that runs of equal bins (ReLU zeros) do not wait on each other's increments.
   */
  #pending4: Uint32Array | undefined;
  #pendingTotal = 0;
  /** The WebAssembly kernel and this histogram's counts region in its memory (4 × (binCount + 1) slots). */
  #kernel: WasmKernel | null;
  #region: number | undefined;

  /** Builds an empty histogram; throws a `RangeError` unless `binCount` is a power of two >= 2. */
  constructor(options: GrowingAbsHistogramOptions) {
    const { binCount } = options;
    if (!Number.isInteger(binCount) || binCount < 2 || binCount > 2 ** 24 || (binCount & (binCount - 1)) !== 0) {
      throw new RangeError(
        `Cannot build growing histogram: binCount must be a power of two in [2, 2^24], got ${binCount}`,
      );
    }
    this.binCount = binCount;
    this.deadZone = options.deadZone ?? -1;
    this.#kernel = options.wasm === false ? null : wasmKernel();
  }

  /**
   * Moves the counts out of WebAssembly memory and frees them there (call when done adding; a
   * later `add` allocates again). Calibrators call it once they have their range.
   */
  release(): void {
    this.#flush(true);
    if (this.#region !== undefined) this.#kernel!.free(this.#region, SUB_HISTOGRAMS * (this.binCount + 1));
    this.#region = undefined;
  }

  /** Upper end of the binned range: a power of two above every |x| seen (0 while every value was 0). */
  get edge(): number {
    return this.#edge;
  }

  /** Width of one bin (`edge / binCount`). */
  get binWidth(): number {
    return this.#edge / this.binCount;
  }

  /** Largest |x| seen (0 before any value). */
  get maxAbs(): number {
    return this.count === 0 ? 0 : Math.max(Math.abs(this.min), Math.abs(this.max));
  }

  /** Count per bin. Do not modify. */
  get counts(): Float64Array {
    this.#flush();
    return this.#counts ??= new Float64Array(this.binCount);
  }

  /** Number of values left out by `deadZone`. */
  get skipped(): number {
    this.#flush();
    return this.#skipped;
  }

  /**
   * Adds every value of `values`. Throws a `NonFiniteValueError` naming the first NaN or
   * ±Infinity; the histogram is then unchanged.
   */
  add(values: Float32Array, range?: ValueRange): void {
    for (let start = 0; start < values.length; start += CHUNK) {
      const end = Math.min(values.length, start + CHUNK);
      if (end <= start) continue;
      if (this.#pendingTotal > PENDING_LIMIT) this.#flush();
      if (this.#kernel) this.#addWasm(values.subarray(start, end), range, start);
      else this.#addRange(values, start, end, range ?? scanRange(values, start, end));
    }
  }

  /**
   * Grows to fit `range` (finite), then bins. Dead-zone values are counted apart and taken out of
   * bin 0, where they land whenever the dead zone is narrower than a bin. Measured on the fixtures:
   * a range scan and then this loop cost less than one loop that tracks the range, checks for NaN
   * and clamps while binning.
   */
  #addRange(values: Float32Array, start: number, end: number, range: ValueRange): void {
    const maxAbs = Math.max(Math.abs(range.min), Math.abs(range.max));
    if (!(maxAbs <= MAX_FINITE)) {
      throw new RangeError(`Cannot bin values: the given range [${range.min}, ${range.max}] is not finite`);
    }
    if (maxAbs >= this.#edge && maxAbs > 0) this.#grow(maxAbs);
    if (this.deadZone >= 0 && this.deadZone * this.#binsPerUnit >= 1) this.#binWideDeadZone(values, start, end);
    else this.#bin(values, start, end);
    this.#pendingTotal += end - start;
    this.min = Math.min(this.min, range.min);
    this.max = Math.max(this.max, range.max);
    this.count += end - start;
  }

  /** The WebAssembly path: copy in, range (NaN-propagating), grow, bin into the kernel's sub-histograms. */
  #addWasm(values: Float32Array, given: ValueRange | undefined, offset: number): void {
    const kernel = this.#kernel!;
    kernel.load(values);
    const range = given ?? kernel.range(values.length);
    if (!(Math.abs(range.min) <= MAX_FINITE && Math.abs(range.max) <= MAX_FINITE)) {
      const at = scanRangeOrThrow(values);
      throw new NonFiniteValueError(values[at]!, at + offset);
    }
    const maxAbs = Math.max(Math.abs(range.min), Math.abs(range.max));
    if (maxAbs >= this.#edge && maxAbs > 0) this.#grow(maxAbs);
    if (this.#binsPerUnit > MAX_FLOAT32) {
      this.#addRange(values, 0, values.length, range); // a range too small for float32 factors
      return;
    }
    this.#region ??= kernel.allocCounts(SUB_HISTOGRAMS * (this.binCount + 1));
    kernel.hist(values.length, this.#region, this.#binsPerUnit, this.binCount - 1, this.deadZone, this.binCount + 1);
    this.#pendingTotal += values.length;
    this.min = Math.min(this.min, range.min);
    this.max = Math.max(this.max, range.max);
    this.count += values.length;
  }

  #bin(values: Float32Array, start: number, end: number): void {
    const pending = this.#pending4 ??= new Uint32Array(4 * this.binCount);
    const deadSlot = this.#pending ??= new Uint32Array(this.binCount + 1);
    const binsPerUnit = this.#binsPerUnit;
    const deadZone = this.deadZone;
    const binCount = this.binCount;
    const b1 = binCount, b2 = 2 * binCount, b3 = 3 * binCount;
    let dead = 0;
    let i = start;
    // |x| <= max|x| < edge and binsPerUnit = binCount / edge is a power of two, so |x| · binsPerUnit
    // < binCount exactly: no clamp (measured: a clamp per value costs about as much as the rest).
    if (deadZone < 0) {
      for (; i + 3 < end; i += 4) {
        pending[(Math.abs(values[i]!) * binsPerUnit) | 0]!++;
        pending[b1 + ((Math.abs(values[i + 1]!) * binsPerUnit) | 0)]!++;
        pending[b2 + ((Math.abs(values[i + 2]!) * binsPerUnit) | 0)]!++;
        pending[b3 + ((Math.abs(values[i + 3]!) * binsPerUnit) | 0)]!++;
      }
    } else {
      for (; i + 3 < end; i += 4) {
        const a0 = Math.abs(values[i]!), a1 = Math.abs(values[i + 1]!);
        const a2 = Math.abs(values[i + 2]!), a3 = Math.abs(values[i + 3]!);
        dead += Number(a0 <= deadZone) + Number(a1 <= deadZone) + Number(a2 <= deadZone) + Number(a3 <= deadZone);
        pending[(a0 * binsPerUnit) | 0]!++;
        pending[b1 + ((a1 * binsPerUnit) | 0)]!++;
        pending[b2 + ((a2 * binsPerUnit) | 0)]!++;
        pending[b3 + ((a3 * binsPerUnit) | 0)]!++;
      }
    }
    for (; i < end; i++) {
      const a = Math.abs(values[i]!);
      dead += Number(a <= deadZone);
      pending[(a * binsPerUnit) | 0]!++;
    }
    deadSlot[binCount]! += dead;
    pending[0]! -= dead; // (may wrap below zero; the flush adds the sub-histograms back together mod 2^32)
  }

  /** A dead zone wider than one bin (tiny ranges): dead-zone values go to the extra slot one by one. */
  #binWideDeadZone(values: Float32Array, start: number, end: number): void {
    const pending = this.#pending ??= new Uint32Array(this.binCount + 1);
    const binsPerUnit = this.#binsPerUnit;
    const deadZone = this.deadZone;
    const binCount = this.binCount;
    for (let i = start; i < end; i++) {
      const a = Math.abs(values[i]!);
      const bin = (a * binsPerUnit) | 0;
      pending[bin + ((binCount - bin) & -Number(a <= deadZone))]!++;
    }
  }

  #grow(maxAbs: number): void {
    this.#flush(true);
    let edge = this.#edge;
    if (edge === 0) {
      edge = 2 ** Math.ceil(Math.log2(maxAbs));
      while (edge <= maxAbs) edge *= 2;
      while (edge / 2 > maxAbs) edge /= 2;
    } else {
      const counts = this.#counts!; // allocated by the forced flush
      const half = this.binCount / 2;
      while (edge <= maxAbs) {
        edge *= 2;
        for (let k = 0; k < half; k++) counts[k] = counts[2 * k]! + counts[2 * k + 1]!;
        counts.fill(0, half);
      }
    }
    this.#edge = edge;
    this.#binsPerUnit = this.binCount / edge;
  }

  #flush(force = false): void {
    if (this.#pendingTotal === 0 && !force) return;
    const n = this.binCount;
    const counts = this.#counts ??= new Float64Array(n);
    const pending = this.#pending, pending4 = this.#pending4;
    if (pending4) {
      const deadSlot = pending!; // allocated together with pending4
      for (let k = 0; k < n; k++) {
        // Uint32 sum: sub-histogram 0 may have wrapped below zero by the dead-zone correction
        counts[k]! += (deadSlot[k]! + pending4[k]! + pending4[n + k]! + pending4[2 * n + k]! + pending4[3 * n + k]!) >>>
          0;
      }
      pending4.fill(0);
    } else if (pending) {
      for (let k = 0; k < n; k++) counts[k]! += pending[k]!;
    }
    if (pending) {
      this.#skipped += pending[n]!;
      pending.fill(0);
    }
    if (this.#region !== undefined) {
      const slots = n + 1;
      const region = this.#kernel!.counts(this.#region, SUB_HISTOGRAMS * slots);
      for (let k = 0; k <= n; k++) {
        let sum = 0;
        for (let sub = 0; sub < SUB_HISTOGRAMS; sub++) sum += region[sub * slots + k]!;
        if (k < n) counts[k]! += sum;
        else this.#skipped += sum;
      }
      region.fill(0);
    }
    this.#pendingTotal = 0;
  }
}

/** Index of the first NaN or ±Infinity in `values` (there must be one). */
function scanRangeOrThrow(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!(Math.abs(values[i]!) <= MAX_FINITE)) return i;
  throw new Error("Internal error: the WebAssembly range saw a non-finite value the scan did not find");
}

/**
 * Min and max of `values[start, end)`; throws a `NonFiniteValueError` at the first NaN or ±Infinity.
 * Branch-free, and without Math.min/max (slow on runs of equal values, e.g. ReLU zeros).
 */
function scanRange(values: Float32Array, start: number, end: number): ValueRange {
  let min = Infinity, max = -Infinity, nonFinite = 0;
  for (let i = start; i < end; i++) {
    const value = values[i]!;
    min = value < min ? value : min;
    max = value > max ? value : max;
    nonFinite += Number(!(Math.abs(value) <= MAX_FINITE));
  }
  if (nonFinite > 0) {
    for (let i = start; i < end; i++) {
      if (!(Math.abs(values[i]!) <= MAX_FINITE)) throw new NonFiniteValueError(values[i]!, i);
    }
  }
  return { min, max };
}

/**
 * Re-bins a histogram of bins of width `binWidth` starting at 0 into `targetBins` equal bins
 * over `[0, targetMax]`, splitting each source bin's count by overlap (mass assumed uniform
 * within a bin). Mass beyond `targetMax` goes to the last bin.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resampleHistogram } from "./growing_histogram.ts";
 * // two bins of width 1 with 4 and 2 values, re-binned into 3 bins of width 0.5 over [0, 1.5]
 * assert.deepEqual([...resampleHistogram(new Float64Array([4, 2]), 1, 3, 1.5)], [2, 2, 2]);
 * ```
 */
export function resampleHistogram(
  counts: Float64Array,
  binWidth: number,
  targetBins: number,
  targetMax: number,
): Float64Array {
  const out = new Float64Array(targetBins);
  const targetWidth = targetMax / targetBins;
  for (let k = 0; k < counts.length; k++) {
    const n = counts[k]!;
    if (n === 0) continue;
    const lo = k * binWidth, hi = lo + binWidth;
    if (lo >= targetMax) {
      out[targetBins - 1]! += n;
      continue;
    }
    let j = Math.min(targetBins - 1, Math.floor(lo / targetWidth));
    let at = lo;
    while (at < hi) {
      const jEnd = j === targetBins - 1 ? Infinity : (j + 1) * targetWidth;
      const next = Math.min(hi, jEnd);
      out[j]! += (n * (next - at)) / binWidth;
      at = next;
      j++;
    }
  }
  return out;
}
