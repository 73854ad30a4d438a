/**
 * KL-divergence calibration as MNN's `quantized.out` does it
 * (tools/quantization/TensorStatistic.cpp and calibration.cpp, MNN 2.9.2+):
 *
 * 1. Pass 0 ("ComputeFeatureRange"): min and max of the tensor; maxAbs = max(|min|, |max|).
 * 2. Pass 1 ("CollectFeatureDistribution"): 2048 bins over |x| in [0, maxAbs], leaving out |x| <= 1e-6.
 * 3. Every bin gets +1e-7, the histogram is normalized to sum 1, and the threshold bin `i`
 *    in [128, 2047] with the least KL divergence is chosen (see {@link klThresholdBin}).
 * 4. threshold = (i + 0.5) / interval with interval = float32(2048 / maxAbs);
 *    the int8 scale is threshold / clamp.
 *
 * Fallbacks, as in MNN: a tensor whose height × width is under 100 uses MNN's THRESHOLD_MAX
 * (bin 2047, so threshold = 2047.5 / interval, just under maxAbs); maxAbs <= 1e-5 is "invalid"
 * in MNN (scale 0) and here returns threshold = maxAbs.
 *
 * Differences from MNN, on purpose: counts are float64 (MNN's float counts saturate at 2^24 per
 * bin) and the search runs in float64 (MNN: float32), so near-ties can resolve differently.
 *
 * @module
 */

import { exactKlDivergence, KlSearch } from "./_kl_search.ts";
import { GrowingAbsHistogram, resampleHistogram } from "./growing_histogram.ts";
import { AbsHistogram } from "./histogram.ts";
import { MinMaxCalibrator } from "./minmax.ts";
import type { CalibrationRange, Calibrator, CalibratorOptions, PassInput } from "./types.ts";

/** MNN TensorStatistic.hpp: binNumber = 2048. */
const BIN_COUNT = 2048;
/** MNN TensorStatistic::_computeThreshold: targetBinNums = 128. */
const TARGET_BINS = 128;
/** MNN TensorStatistic::updateDistribution: `abs(data) <= 1e-6` is not binned. */
const DEAD_ZONE = 1e-6;
/** MNN TensorStatistic::resetDistribution: every bin starts at 1.0e-07. */
const BIN_FLOOR = 1e-7;
/** MNN TensorStatistic::resetDistribution: valid only when maxAbs > 0.00001f. */
const MIN_VALID_MAX_ABS = Math.fround(0.00001);
/** MNN TensorStatistic constructor: width * height < 100 switches to THRESHOLD_MAX. */
const MIN_SPATIAL_SIZE = 100;
/** MNN _computeThreshold: minKLDivergence starts at 10000 and a candidate must be strictly below. */
const INITIAL_BEST_KL = 10000;
/** One-pass mode: growing-histogram bins; the data fill at least half, i.e. >= MNN's 2048 over [0, max|x|]. */
const ONE_PASS_BINS = 4096;

/**
 * The KL threshold search of MNN's `TensorStatistic::_computeThreshold` over a
 * normalized |x| histogram. Returns the bin index `i` in
 * `[targetBins, distribution.length - 1]` whose clipped distribution loses the
 * least information when squeezed into `targetBins` bins; ties keep the lower `i`.
 *
 * For each candidate `i`:
 * - P is bins `[0, i)` with the mass of bins `>= i` added to bin `i - 1`;
 * - Q merges bins `[0, i)` of the histogram (without that tail mass) into `targetBins`
 *   bins of width `i / targetBins`, splitting edge bins by their overlap, then spreads each
 *   merged bin back evenly over the overlapped source bins that are non-zero;
 * - KL = Σ P·ln(P/Q) over non-zero P, counting 1 wherever Q is 0.
 * Neither P nor Q is renormalized per candidate.
 *
 * MNN evaluates every candidate in O(binCount), O(binCount²) in all; this returns the same bin
 * more than 10× faster (2048 bins) by evaluating most candidates only through prefix sums and a
 * lower bound, and just the near-best ones with MNN's arithmetic (see `_kl_search.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { klThresholdBin } from "./kl.ts";
 * // mass spread evenly over bins 0-5 and a lone outlier in bin 11: clipping at 6 costs least
 * const distribution = new Float64Array([0.16, 0.16, 0.16, 0.16, 0.16, 0.16, 0, 0, 0, 0, 0, 0.04]);
 * assert.equal(klThresholdBin(distribution, 2), 6);
 * ```
 */
export function klThresholdBin(distribution: Float64Array, targetBins: number): number {
  const binCount = distribution.length;
  if (!Number.isInteger(targetBins) || targetBins < 1 || binCount <= targetBins) {
    throw new RangeError(
      `Cannot search KL threshold: need an integer targetBins >= 1 below the ${binCount} bins, got ${targetBins}`,
    );
  }
  // Same result as MNN's loop over every candidate with its O(binCount) arithmetic, far faster:
  // a cheap lower bound for every candidate, the O(targetBins) divergence only where that bound
  // could still beat the best so far, and MNN's arithmetic only where the divergence is within
  // rounding of the best (see _kl_search.ts).
  const search = new KlSearch(distribution, targetBins);
  const margin = 2 * search.errorBound;
  const fast = new Float64Array(binCount).fill(Infinity);
  let bestFast = Infinity;
  if (search.reliable) {
    const lower = new Float64Array(binCount);
    let seed = targetBins;
    for (let i = targetBins; i < binCount; i++) {
      lower[i] = search.lowerBound(i);
      if (lower[i]! < lower[seed]!) seed = i;
    }
    bestFast = fast[seed] = search.divergence(seed);
    for (let i = targetBins; i < binCount; i++) {
      if (i === seed || lower[i]! > bestFast + margin) continue;
      fast[i] = search.divergence(i);
      if (fast[i]! < bestFast) bestFast = fast[i]!;
    }
  }
  const everyCandidate = !Number.isFinite(bestFast); // unreliable input: MNN's arithmetic throughout
  let bestBin = targetBins;
  let bestKl = INITIAL_BEST_KL;
  for (let i = targetBins; i < binCount; i++) {
    if (!everyCandidate && fast[i]! > bestFast + margin) continue;
    const kl = exactKlDivergence(distribution, targetBins, i);
    if (kl < bestKl) {
      bestKl = kl;
      bestBin = i;
    }
  }
  return bestBin;
}

/**
 * What the KL calibrator chose, with how it chose it.
 *
 * @example
 * ```ts
 * import type { KlCalibrationRange } from "./kl.ts";
 * const chosen: KlCalibrationRange = {
 *   min: -3.0009765625,
 *   max: 3.0009765625,
 *   threshold: 3.0009765625,
 *   observedMin: -8,
 *   observedMax: 7,
 *   rule: "KL",
 *   thresholdBin: 768,
 *   binsPerUnit: 256,
 * };
 * const int8Scale = chosen.threshold / 127;
 * ```
 */
export interface KlCalibrationRange extends CalibrationRange {
  /** The |x| threshold; `min = -threshold`, `max = threshold`. */
  readonly threshold: number;
  /**
   * `"KL"`: the divergence search; `"MAX_SMALL_TENSOR"`: height × width < 100, MNN's THRESHOLD_MAX;
   * `"MAX_NEAR_ZERO"`: max |x| <= 1e-5, which MNN treats as invalid (scale 0); here threshold = max |x|.
   */
  readonly rule: "KL" | "MAX_SMALL_TENSOR" | "MAX_NEAR_ZERO";
  /** Chosen bin `i`: threshold = (i + 0.5) / binsPerUnit. Absent for `"MAX_NEAR_ZERO"`. */
  readonly thresholdBin?: number;
  /** Histogram bins per unit of |x|: float32 2048 / max|x| (MNN `interval`). Absent for `"MAX_NEAR_ZERO"`. */
  readonly binsPerUnit?: number;
}

/**
 * True when MNN would skip KL for a tensor of this shape: `width * height < 100`, with
 * height and width at NCHW indices 2 and 3. MNN reads dims it does not have as 0, so
 * tensors of rank < 4 always count as small there, and here.
 */
function isSmallSpatialTensor(shape: readonly number[]): boolean {
  return (shape[2] ?? 0) * (shape[3] ?? 0) < MIN_SPATIAL_SIZE;
}

/**
 * MNN's KL calibrator for one tensor: two passes (range, then histogram). The range pass needs
 * only per-sample min/max (`passInput(0)` is `"ranges"`), and small tensors skip the second
 * pass (`"none"`).
 *
 * With `klPasses: 1` it makes one pass instead: every value goes into a range-growing
 * 4096-bin histogram (see `growing_histogram.ts`), which is re-binned into MNN's 2048 bins over
 * [0, max|x|] (splitting bins by overlap) before the same search. The chosen bin can then differ
 * from MNN's by the re-binning, not otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KlCalibrator } from "./kl.ts";
 * const calibrator = new KlCalibrator({ clamp: 127, shape: [1, 1, 32, 32] });
 * const values = new Float32Array(1024).map((_, i) => (i % 64) / 16 - 2); // -2 .. 1.9375
 * values[0] = 40; // one outlier
 * for (let pass = 0; pass < calibrator.passes; pass++) calibrator.observe(pass, values);
 * const range = calibrator.range();
 * assert.equal(range.rule, "KL");
 * assert.ok(range.threshold < 40 / 4);
 * ```
 */
export class KlCalibrator implements Calibrator {
  /** Config name of this method. */
  readonly method = "KL";
  /** Pass 0 finds the range, pass 1 fills the histogram (1 in one-pass mode). */
  readonly passes: number;
  /** True when the shape makes MNN use THRESHOLD_MAX instead of KL. */
  readonly smallTensor: boolean;

  #rangePass: MinMaxCalibrator;
  /** Pass-1 min/max when there is no histogram to track them. */
  #laterValues: MinMaxCalibrator;
  #histogram: AbsHistogram | undefined;
  #histogramPassStarted = false;
  #result: KlCalibrationRange | undefined;
  /** One-pass mode's histogram (every value of pass 0). */
  #growing: GrowingAbsHistogram | undefined;

  /** Builds a calibrator; `options.shape`, when given, decides MNN's small-tensor fallback. */
  constructor(options: CalibratorOptions) {
    this.smallTensor = options.shape !== undefined && isSmallSpatialTensor(options.shape);
    const klPasses = options.klPasses ?? 2;
    if (klPasses !== 1 && klPasses !== 2) {
      throw new RangeError(`Cannot build KL calibrator: klPasses is 1 or 2, got ${klPasses}`);
    }
    this.passes = klPasses;
    if (klPasses === 1 && !this.smallTensor) {
      this.#growing = new GrowingAbsHistogram({ binCount: options.bins ?? ONE_PASS_BINS, deadZone: DEAD_ZONE });
    }
    this.#rangePass = new MinMaxCalibrator(options);
    this.#laterValues = new MinMaxCalibrator(options);
  }

  /**
   * Pass 0 tracks min/max; pass 1 bins |x|. Pass 1 may be skipped for small or near-zero
   * tensors. Throws `NonFiniteValueError` on NaN or ±Infinity.
   */
  observe(pass: number, values: Float32Array): void {
    if (pass === 0) {
      if (this.#histogramPassStarted) throw new Error("Cannot observe KL pass 0: pass 1 has already begun");
      if (this.#growing) {
        this.#growing.add(values);
        this.#rangePass.min = this.#growing.min;
        this.#rangePass.max = this.#growing.max;
        this.#rangePass.count = this.#growing.count;
      } else this.#rangePass.include(values);
    } else if (pass === 1 && this.passes === 2) {
      if (!this.#histogramPassStarted) this.#startHistogramPass();
      if (this.#histogram) this.#histogram.add(values);
      else this.#laterValues.include(values);
    } else {
      throw new RangeError(`Cannot observe pass ${pass}: KL has ${this.passes} pass(es)`);
    }
    this.#result = undefined;
  }

  /**
   * Pass 0 needs per-sample min/max only (every value in one-pass mode); pass 1 every value,
   * except for small tensors, which MNN calibrates from the range alone.
   */
  passInput(pass: number): PassInput {
    if (pass === 0) return this.#growing ? "values" : "ranges";
    return this.smallTensor ? "none" : "values";
  }

  /** Pass 0 on per-sample minima and maxima (finite, checked by the driver). */
  observeRanges(pass: number, mins: Float32Array, maxs: Float32Array): void {
    if (pass !== 0 || this.#growing) throw new RangeError(`Cannot observe ranges on KL pass ${pass}: it needs values`);
    if (this.#histogramPassStarted) throw new Error("Cannot observe KL pass 0: pass 1 has already begun");
    this.#rangePass.includeRanges(mins, maxs);
    this.#result = undefined;
  }

  /** The symmetric range `[-threshold, threshold]`; throws if a needed pass saw no values. */
  range(): KlCalibrationRange {
    this.#result ??= this.#computeRange();
    return this.#result;
  }

  #maxAbs(): number {
    if (this.#rangePass.count === 0) throw new Error("Cannot compute KL range: pass 0 observed no values");
    return Math.max(Math.abs(this.#rangePass.min), Math.abs(this.#rangePass.max));
  }

  #startHistogramPass(): void {
    const maxAbs = this.#maxAbs();
    this.#histogramPassStarted = true;
    if (this.smallTensor || !(maxAbs > MIN_VALID_MAX_ABS)) return; // MNN computes no KL for these
    this.#histogram = new AbsHistogram({ binCount: BIN_COUNT, maxAbs, deadZone: DEAD_ZONE });
  }

  #computeRange(): KlCalibrationRange {
    const maxAbs = this.#maxAbs();
    const later = this.#histogram ?? this.#laterValues;
    const observed = {
      observedMin: Math.min(this.#rangePass.min, later.min),
      observedMax: Math.max(this.#rangePass.max, later.max),
    };
    if (!(maxAbs > MIN_VALID_MAX_ABS)) {
      return { min: -maxAbs, max: maxAbs, threshold: maxAbs, ...observed, rule: "MAX_NEAR_ZERO" };
    }
    const binsPerUnit = Math.fround(BIN_COUNT / maxAbs); // MNN resetDistribution: mInterval = (float)mBinNumber / maxValue
    let thresholdBin = BIN_COUNT - 1; // MNN THRESHOLD_MAX: threshold = mBinNumber - 1
    let rule: KlCalibrationRange["rule"] = "MAX_SMALL_TENSOR";
    if (!this.smallTensor) {
      let counts: Float64Array;
      if (this.#growing) {
        // one-pass mode: MNN's bins are [k, k + 1) / binsPerUnit, k < 2048
        counts = resampleHistogram(this.#growing.counts, this.#growing.binWidth, BIN_COUNT, BIN_COUNT / binsPerUnit);
        this.#growing.release();
      } else {
        const histogram = this.#histogram;
        if (!histogram || histogram.count === 0) {
          throw new Error("Cannot compute KL range: pass 1 observed no values");
        }
        counts = histogram.counts;
        histogram.release();
      }
      thresholdBin = klThresholdBin(normalizedDistribution(counts), TARGET_BINS);
      rule = "KL";
    }
    const threshold = (thresholdBin + 0.5) / binsPerUnit; // MNN finishAndCompute: scale = (threshold + 0.5) / mInterval / clamp
    return { min: -threshold, max: threshold, threshold, ...observed, rule, thresholdBin, binsPerUnit };
  }
}

/** MNN resetDistribution + finishAndCompute: every bin + 1e-7, then divided by the total. */
function normalizedDistribution(counts: Float64Array): Float64Array {
  const distribution = new Float64Array(counts.length);
  let total = 0;
  for (let k = 0; k < counts.length; k++) {
    distribution[k] = counts[k]! + BIN_FLOOR;
    total += distribution[k]!;
  }
  for (let k = 0; k < distribution.length; k++) distribution[k]! /= total;
  return distribution;
}

/**
 * Factory for {@link KlCalibrator}, as listed in the registry. Unlike the class, whose default is
 * MNN's two passes, it defaults to one pass (`klPasses: 1`): measured on the bench fixtures at
 * 1 000 images, MNN's range pass (in-graph min/max) plus histogram pass cost 2.0–2.2× the float
 * model's inference with the observed tensors exposed, one range-growing pass 1.4–1.6×, with the
 * same int8 accuracy. `klPasses: 2` gives MNN's thresholds exactly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createKlCalibrator } from "./kl.ts";
 * const calibrator = createKlCalibrator({ clamp: 127, shape: [1, 8] }); // rank 2: MNN's small-tensor rule
 * calibrator.observe(0, new Float32Array([-1, 0.5, 2]));
 * assert.equal(calibrator.range().rule, "MAX_SMALL_TENSOR");
 * assert.equal(calibrator.passes, 1);
 * assert.equal(createKlCalibrator({ clamp: 127, klPasses: 2 }).passes, 2);
 * ```
 */
export function createKlCalibrator(options: CalibratorOptions): KlCalibrator {
  return new KlCalibrator({ klPasses: 1, ...options });
}
