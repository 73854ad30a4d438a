/**
 * A streaming histogram of |x| over `[0, maxAbs]`, the data structure behind
 * histogram calibrators such as KL, plus the error every calibrator throws on
 * NaN or ±Infinity.
 *
 * Numeric choices:
 * - Bin counts are a `Float64Array`: counts stay exact up to 2^53. MNN keeps
 *   `float` counts, which stop growing at 2^24 (16,777,216) per bin — a dense
 *   bin of a 3.3 M-element activation can get there within a few hundred
 *   images. That saturation is not reproduced.
 * - The bin index is computed in float32, as MNN does
 *   (`int(fabsf(x) * interval)` with a float `interval`), so a value lands in
 *   the same bin as in MNN: the product of two float32 numbers is exact in
 *   float64, and `Math.fround` then rounds it exactly as a float multiply would.
 *
 * @module
 */

import { SUB_HISTOGRAMS, type WasmKernel, wasmKernel } from "./_wasm_kernel.ts";

/** Below this many values the copy into WebAssembly memory costs more than the JavaScript loop. */
const WASM_MIN_VALUES = 64;

/** Largest finite float64; `!(|x| <= MAX_FINITE)` is true exactly for NaN and ±Infinity. */
const MAX_FINITE = Number.MAX_VALUE;

/**
 * Thrown when a calibrator is fed NaN or ±Infinity. `index` is the position in
 * the `Float32Array` passed to that `observe()` call; the caller adds the
 * tensor name and sample index.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AbsHistogram, NonFiniteValueError } from "./histogram.ts";
 * const histogram = new AbsHistogram({ binCount: 4, maxAbs: 1 });
 * assert.throws(() => histogram.add(new Float32Array([0.5, NaN])), (error) => {
 *   return error instanceof NonFiniteValueError && error.index === 1 && /NaN/.test(error.message);
 * });
 * ```
 */
export class NonFiniteValueError extends Error {
  /** The offending value: NaN, Infinity or -Infinity. */
  readonly value: number;
  /** Its index in the array given to `observe()`. */
  readonly index: number;

  /** Builds the error for `value` found at `index`. */
  constructor(value: number, index: number) {
    const what = Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
    super(`Cannot calibrate value at index ${index}: it is ${what}`);
    this.name = "NonFiniteValueError";
    this.value = value;
    this.index = index;
  }
}

/**
 * Options for {@link AbsHistogram}.
 *
 * @example
 * ```ts
 * import type { AbsHistogramOptions } from "./histogram.ts";
 * // MNN's KL histogram: 2048 bins, exact zeros and |x| <= 1e-6 left out
 * const options: AbsHistogramOptions = { binCount: 2048, maxAbs: 6.5, deadZone: 1e-6 };
 * ```
 */
export interface AbsHistogramOptions {
  /** Number of equal-width bins covering `[0, maxAbs]`. */
  readonly binCount: number;
  /** Upper edge of the last bin; larger |x| is clamped into the last bin. */
  readonly maxAbs: number;
  /**
   * Values with |x| <= `deadZone` are counted in `count` and `skipped` but not
   * binned. Default: none skipped (exact zeros go to bin 0).
   */
  readonly deadZone?: number;
  /** Use the WebAssembly SIMD kernel where available (default true); false: the JavaScript loop. */
  readonly wasm?: boolean;
}

/** Values handled per inner loop; keeps every per-bin `Uint32Array` count below 2^32. */
const CHUNK = 2 ** 30;
/** Flush the `Uint32Array` counts into the `Float64Array` before they could wrap. */
const PENDING_LIMIT = 2 ** 32 - 1 - CHUNK;

/**
 * A streaming histogram of |x| with `binCount` bins over `[0, maxAbs]`. It also
 * tracks the minimum, maximum and count of everything added, and rejects NaN
 * and ±Infinity. Memory is `binCount` doubles whatever the number of values.
 *
 * Bin `k` holds `k <= |x| * binsPerUnit < k + 1`; `binsPerUnit` is the float32
 * value of `binCount / maxAbs` (MNN's `interval`), so bin `k` starts at
 * `k / binsPerUnit`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AbsHistogram } from "./histogram.ts";
 * const histogram = new AbsHistogram({ binCount: 4, maxAbs: 2, deadZone: 0 });
 * histogram.add(new Float32Array([-1.75, 0, 0.125, 0.625, 2, 5]));
 * assert.deepEqual([...histogram.counts], [1, 1, 0, 3]);
 * assert.equal(histogram.min, -1.75);
 * assert.equal(histogram.max, 5);
 * assert.equal(histogram.count, 6);
 * assert.equal(histogram.skipped, 1);
 * ```
 */
export class AbsHistogram {
  /** Number of bins. */
  readonly binCount: number;
  /** Upper edge of the last bin, as given. */
  readonly maxAbs: number;
  /** Bins per unit of |x|: float32 `binCount / maxAbs` (MNN `interval`). */
  readonly binsPerUnit: number;
  /** |x| at or below this is not binned; -1 when nothing is skipped. */
  readonly deadZone: number;
  /** Smallest value added (Infinity before any). */
  min = Infinity;
  /** Largest value added (-Infinity before any). */
  max = -Infinity;
  /** Number of values added, binned or not. */
  count = 0;

  /** Flushed totals; `binCount` bins. */
  #counts: Float64Array;
  #skipped = 0;
  /** Counts since the last flush: integer increments are much faster than float ones. Slot `binCount` is the dead zone. */
  #pending: Uint32Array;
  /** The WebAssembly kernel (null: JavaScript loops) and this histogram's counts region in its memory. */
  #kernel: WasmKernel | null;
  #region: number | undefined;
  #pendingTotal = 0;

  /** Builds an empty histogram; throws a `RangeError` on a bad bin count or range. */
  constructor(options: AbsHistogramOptions) {
    const { binCount, maxAbs } = options;
    // above 2^24 a float32 bin position could no longer tell neighbouring bins apart
    if (!Number.isInteger(binCount) || binCount < 1 || binCount > 2 ** 24) {
      throw new RangeError(`Cannot build histogram: binCount must be an integer in [1, 2^24], got ${binCount}`);
    }
    const binsPerUnit = Math.fround(binCount / Math.fround(maxAbs));
    if (!(maxAbs > 0 && binsPerUnit > 0 && binsPerUnit < Infinity)) {
      throw new RangeError(`Cannot build histogram: maxAbs must be a positive float32 magnitude, got ${maxAbs}`);
    }
    this.binCount = binCount;
    this.maxAbs = maxAbs;
    this.binsPerUnit = binsPerUnit;
    this.deadZone = options.deadZone ?? -1;
    this.#counts = new Float64Array(binCount);
    this.#pending = new Uint32Array(binCount + 1);
    this.#kernel = options.wasm === false ? null : wasmKernel();
  }

  /** Count per bin. Do not modify. */
  get counts(): Float64Array {
    this.#flush();
    return this.#counts;
  }

  /** Number of values left out by `deadZone`. */
  get skipped(): number {
    this.#flush();
    return this.#skipped;
  }

  /**
   * Adds every value of `values`. Throws a `NonFiniteValueError` naming the
   * first NaN or ±Infinity; the histogram is then unspecified and should be
   * discarded.
   */
  add(values: Float32Array): void {
    for (let start = 0; start < values.length; start += CHUNK) {
      const end = Math.min(values.length, start + CHUNK);
      if (this.#pendingTotal > PENDING_LIMIT) this.#flush();
      if (this.#kernel && end - start >= WASM_MIN_VALUES) this.#addWasm(values.subarray(start, end), start);
      else this.#addRange(values, start, end);
    }
  }

  /**
   * Moves the counts out of WebAssembly memory and frees them there (a later `add` allocates
   * again). The KL calibrator calls it once it has its threshold.
   */
  release(): void {
    this.#flush();
    if (this.#region !== undefined) this.#kernel!.free(this.#region, SUB_HISTOGRAMS * (this.binCount + 1));
    this.#region = undefined;
  }

  /**
   * The WebAssembly kernel computes the same bins: its f32 multiply is MNN's float product, its
   * truncation MNN's int cast, and |x| <= float32(deadZone) in float32 equals |x| <= deadZone in
   * float64 for float32 |x| whenever float32(deadZone) <= deadZone (1e-6: yes).
   */
  #addWasm(values: Float32Array, offset: number): void {
    const kernel = this.#kernel!;
    kernel.load(values);
    const range = kernel.range(values.length);
    if (!(Math.abs(range.min) <= MAX_FINITE && Math.abs(range.max) <= MAX_FINITE)) {
      for (let i = 0; i < values.length; i++) {
        if (!(Math.abs(values[i]!) <= MAX_FINITE)) throw new NonFiniteValueError(values[i]!, i + offset);
      }
    }
    this.#region ??= kernel.allocCounts(SUB_HISTOGRAMS * (this.binCount + 1));
    kernel.hist(values.length, this.#region, this.binsPerUnit, this.binCount - 1, this.deadZone, this.binCount + 1);
    this.#pendingTotal += values.length;
    this.min = Math.min(this.min, range.min);
    this.max = Math.max(this.max, range.max);
    this.count += values.length;
  }

  #addRange(values: Float32Array, start: number, end: number): void {
    const pending = this.#pending;
    const binsPerUnit = this.binsPerUnit;
    const deadZone = this.deadZone;
    const binCount = this.binCount;
    const lastBin = binCount - 1;
    let min = Infinity;
    let max = -Infinity;
    let nonFinite = 0;
    // Branch-free on purpose: ReLU outputs are ~50% zeros in random places, so an `if` on the
    // value mispredicts. (Math.min/max are slow here too: equal operands take V8's ±0 path.)
    for (let i = start; i < end; i++) {
      const value = values[i]!;
      min = value < min ? value : min;
      max = value > max ? value : max;
      const magnitude = Math.abs(value);
      nonFinite += Number(!(magnitude <= MAX_FINITE));
      // float32 product as MNN computes it; clamped like MNN's min(index, binNumber - 1)
      const bin = Math.min(Math.fround(magnitude * binsPerUnit), lastBin) | 0;
      // dead-zone values go to the extra slot `binCount`: bin + (binCount - bin) when the flag is 1
      pending[bin + ((binCount - bin) & -Number(magnitude <= deadZone))]!++;
    }
    this.#pendingTotal += end - start;
    if (nonFinite > 0) {
      for (let i = start; i < end; i++) {
        const value = values[i]!;
        if (!(Math.abs(value) <= MAX_FINITE)) throw new NonFiniteValueError(value, i);
      }
    }
    this.min = Math.min(this.min, min);
    this.max = Math.max(this.max, max);
    this.count += end - start;
  }

  #flush(): void {
    if (this.#pendingTotal === 0) return;
    const counts = this.#counts;
    const pending = this.#pending;
    const n = this.binCount;
    for (let k = 0; k < n; k++) counts[k]! += pending[k]!;
    this.#skipped += pending[n]!;
    pending.fill(0);
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
