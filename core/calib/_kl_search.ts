/**
 * The evaluations behind {@link klThresholdBin} in `kl.ts`. MNN's search
 * (TensorStatistic::_computeThreshold) costs O(binCount) per candidate threshold `i`, so
 * O(binCount²) per tensor; here:
 *
 * - {@link KlSearch.divergence} gets candidate `i`'s KL in O(targetBins): every wholly covered
 *   non-zero source bin of one target bin has the same Q = share (merged mass / support), so their
 *   Σ P·ln(P/Q) is Σ d·ln d − ln(share)·Σ d, two prefix-sum lookups; merged mass and support are
 *   prefix-sum lookups too. Only split bins (cut by a target edge) and bin i − 1 (with the folded
 *   tail) are taken one by one.
 * - {@link KlSearch.lowerBound} bounds it from below in O(targetBins) with table lookups and two
 *   logarithms, so that most candidates (typically 75–95%) need no divergence at all.
 * - {@link exactKlDivergence} is MNN's own per-candidate arithmetic, for the few candidates whose
 *   divergence is within rounding of the best, so the chosen bin is exactly MNN's.
 *
 * @module
 */

/** Above this many (start, length) entries the lower bound's table is not built and nothing is pruned. */
const MAX_LOSS_TABLE_ENTRIES = 1 << 20;
/** Non-zero bins at least this large keep every Q of a non-zero bin from underflowing to 0 (MNN's +1). */
const MIN_RELIABLE_BIN = 1e-280;

/**
 * Prefix sums and tables of one distribution, answering per-candidate questions of MNN's KL
 * threshold search in O(targetBins) each.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exactKlDivergence, KlSearch } from "./_kl_search.ts";
 * const d = new Float64Array([0.5, 0.2, 0.1, 0, 0.1, 0.1]);
 * const search = new KlSearch(d, 2);
 * for (let i = 2; i < d.length; i++) {
 *   const exact = exactKlDivergence(d, 2, i);
 *   assert.ok(Math.abs(search.divergence(i) - exact) <= search.errorBound);
 *   assert.ok(search.lowerBound(i) <= exact + search.errorBound);
 * }
 * ```
 */
export class KlSearch {
  /**
   * False when the distribution has a negative or non-finite bin, a total that could overflow, or a
   * non-zero bin so small that Q could underflow; then only {@link exactKlDivergence} is meaningful.
   */
  readonly reliable: boolean;
  /**
   * Bound on |{@link divergence} − {@link exactKlDivergence}| and on the rounding of
   * {@link lowerBound}: both sum at most 2·binCount rounded terms bounded by Σ|d·ln d| and
   * Σ d·|ln Q|, with Q >= min non-zero d / (2·(binCount + 1)); a worst case, times 10.
   */
  readonly errorBound: number;

  readonly #d: Float64Array;
  readonly #targetBins: number;
  /** Target edges as (j + 1)·(i / targetBins): exact, and much faster than dividing, for powers of two (MNN: 128). */
  readonly #edgesByProduct: boolean;
  /** Mass of bins [0, k) as a double-double (high + low, Knuth's TwoSum): a far target bin of near-empty bins has a mass ~1e-11 beside a prefix ~1. */
  readonly #massHigh: Float64Array;
  readonly #massLow: Float64Array;
  /** Number of non-zero bins in [0, k). */
  readonly #nonZero: Float64Array;
  /** Σ d·ln d over bins [0, k). */
  readonly #dLogD: Float64Array;
  /** Mass of bins >= k, summed as {@link exactKlDivergence} sums it. */
  readonly #tail: Float64Array;
  /** Entry a·#lossStride + n: Σ P·ln(P/mean) over the non-zero bins of [a, a + n), what flattening them loses. */
  readonly #flatteningLoss: Float64Array | undefined;
  readonly #lossStride: number;

  /** Builds the prefix sums (O(binCount)) and the lower bound's table (O(binCount²/targetBins)). */
  constructor(distribution: Float64Array, targetBins: number) {
    const d = distribution;
    const binCount = d.length;
    this.#d = d;
    this.#targetBins = targetBins;
    this.#edgesByProduct = (targetBins & (targetBins - 1)) === 0;
    const massHigh = new Float64Array(binCount + 1);
    const massLow = new Float64Array(binCount + 1);
    const nonZero = new Float64Array(binCount + 1);
    const dLogD = new Float64Array(binCount + 1);
    const logD = new Float64Array(binCount);
    let sumAbsDLogD = 0;
    let minNonZero = Infinity;
    let reliable = true;
    for (let k = 0; k < binCount; k++) {
      const p = d[k]!;
      if (!(p >= 0 && p < Infinity)) reliable = false;
      const high = massHigh[k]!;
      const sum = high + p;
      const pPart = sum - high;
      massHigh[k + 1] = sum;
      massLow[k + 1] = massLow[k]! + ((high - (sum - pPart)) + (p - pPart));
      nonZero[k + 1] = nonZero[k]! + (p !== 0 ? 1 : 0);
      logD[k] = Math.log(p);
      const pLogP = p !== 0 ? p * logD[k]! : 0;
      dLogD[k + 1] = dLogD[k]! + pLogP;
      sumAbsDLogD += Math.abs(pLogP);
      if (p !== 0) minNonZero = Math.min(minNonZero, p);
    }
    const total = massHigh[binCount]!;
    this.reliable = reliable && total <= 1e300 && (total === 0 || minNonZero >= MIN_RELIABLE_BIN);
    const maxAbsLogQ = total === 0
      ? 0
      : Math.max(Math.abs(Math.log(total)), Math.abs(Math.log(minNonZero / (2 * (binCount + 1)))));
    this.errorBound = 10 * 4 * binCount * Number.EPSILON * (sumAbsDLogD + total * (maxAbsLogQ + 1));
    const tail = new Float64Array(binCount + 1);
    for (let k = binCount - 1; k >= 0; k--) tail[k] = tail[k + 1]! + d[k]!;
    this.#massHigh = massHigh;
    this.#massLow = massLow;
    this.#nonZero = nonZero;
    this.#dLogD = dLogD;
    this.#tail = tail;

    // a target bin (width i / targetBins <= (binCount - 1) / targetBins) wholly covers at most this many bins
    const maxInterior = Math.floor((binCount - 1) / targetBins);
    this.#lossStride = maxInterior + 1;
    if (!this.reliable || binCount * this.#lossStride > MAX_LOSS_TABLE_ENTRIES) return;
    const loss = new Float64Array(binCount * this.#lossStride);
    for (let start = 0; start < binCount; start++) {
      let pLogP = 0;
      let mass = 0;
      let count = 0;
      for (let length = 1; length <= maxInterior && start + length <= binCount; length++) {
        const p = d[start + length - 1]!;
        if (p !== 0) {
          pLogP += p * logD[start + length - 1]!;
          mass += p;
          count++;
        }
        loss[start * this.#lossStride + length] = count === 0 ? 0 : pLogP - mass * Math.log(mass / count);
      }
    }
    this.#flatteningLoss = loss;
  }

  /**
   * A lower bound on candidate `i`'s divergence (up to {@link errorBound}), or −Infinity when the
   * distribution is not {@link reliable} or too large for the table.
   *
   * Why it holds: group the bins below `i - 1` into the wholly covered bins of each target bin and
   * the single split bins. Within a group of wholly covered bins Q is flat, so that group's
   * Σ P·ln(P/Q) is the tabulated flattening loss plus P_g·ln(P_g/Q_g); by the log-sum inequality
   * Σ_g P_g·ln(P_g/Q_g) (split bins included) is at least P·ln(P/Q) over all of them, and Q there
   * is the merged mass of bins [0, i) less bin i − 1's Q. Bin i − 1 is taken exactly.
   */
  lowerBound(i: number): number {
    const loss = this.#flatteningLoss;
    if (!loss) return -Infinity;
    const d = this.#d;
    const targetBins = this.#targetBins;
    const lastTarget = targetBins - 1;
    const stride = this.#lossStride;
    const edgesByProduct = this.#edgesByProduct;
    const width = i / targetBins;
    let bound = 0;
    let leftUpper = 0;
    for (let j = 0; j < lastTarget; j++) {
      const end = edgesByProduct ? (j + 1) * width : ((j + 1) * i) / targetBins;
      const rightLower = end | 0; // floor: 0 <= end < 2^31
      if (rightLower > leftUpper) bound += loss[leftUpper * stride + rightLower - leftUpper]!;
      leftUpper = end > rightLower ? rightLower + 1 : rightLower;
    }
    if (i - 1 > leftUpper) bound += loss[leftUpper * stride + i - 1 - leftUpper]!; // last target bin, less bin i - 1
    // bin i - 1 lies wholly in the last target bin (i / targetBins >= 1); its Q is that bin's share
    const start = edgesByProduct ? lastTarget * width : (lastTarget * i) / targetBins;
    const leftUpperLast = Math.ceil(start);
    const leftFraction = leftUpperLast - start;
    let merged = this.#massOf(leftUpperLast, i);
    let support = this.#nonZero[i]! - this.#nonZero[leftUpperLast]!;
    if (leftFraction > 0) {
      merged += leftFraction * d[leftUpperLast - 1]!;
      if (d[leftUpperLast - 1] !== 0) support += leftFraction;
    }
    const qLast = d[i - 1] !== 0 ? merged / support : 0;
    const pLast = d[i - 1]! + this.#tail[i]!;
    if (pLast !== 0) bound += qLast === 0 ? 1 : pLast * Math.log(pLast / qLast); // MNN: +1 where Q = 0
    const pRest = this.#massOf(0, i - 1);
    if (pRest > 0) {
      const qRest = this.#massOf(0, i) - qLast;
      if (!(qRest > 0)) return -Infinity; // lost to rounding: no bound
      bound += pRest * Math.log(pRest / qRest);
    }
    return bound;
  }

  /**
   * Candidate `i`'s KL divergence, the quantity of {@link exactKlDivergence} with different
   * rounding (within {@link errorBound}).
   */
  divergence(i: number): number {
    const d = this.#d;
    const targetBins = this.#targetBins;
    const massHigh = this.#massHigh;
    const massLow = this.#massLow;
    const nonZero = this.#nonZero;
    const dLogD = this.#dLogD;
    const edgesByProduct = this.#edgesByProduct;
    const lastTarget = targetBins - 1;
    const width = i / targetBins;
    let kl = 0;
    let leftUpper = 0; // first source bin wholly inside target bin j
    let split = -1; // source bin cut by target bin j's left edge, or -1
    let splitFraction = 0; // how much of it lies in target bin j
    let carriedQ = 0; // the Q it already got from target bin j - 1
    for (let j = 0; j < targetBins; j++) {
      const end = edgesByProduct ? (j + 1) * width : ((j + 1) * i) / targetBins;
      const rightLower = end | 0; // floor: 0 <= end < 2^31
      // wholly covered bins [leftUpper, interiorEnd); in the last target bin, bin i - 1 (P with the tail) comes apart
      const interiorEnd = j === lastTarget ? i - 1 : rightLower;
      const interiorMass = (massHigh[interiorEnd]! - massHigh[leftUpper]!) +
        (massLow[interiorEnd]! - massLow[leftUpper]!);
      let merged = interiorMass;
      let support = nonZero[rightLower]! - nonZero[leftUpper]!;
      if (j === lastTarget) merged += d[i - 1]!;
      const splitP = split >= 0 ? d[split]! : 0;
      if (split >= 0) {
        merged += splitFraction * splitP;
        if (splitP !== 0) support += splitFraction;
      }
      const rightFraction = end - rightLower; // > 0: bin rightLower is cut by this target bin's right edge
      const rightP = rightFraction > 0 ? d[rightLower]! : 0;
      const rightPart = rightP !== 0 ? rightFraction : 0;
      merged += rightFraction * rightP;
      support += rightPart;
      const share = support === 0 ? 0 : merged / support;

      if (splitP !== 0) {
        const q = carriedQ + share * splitFraction;
        kl += q === 0 ? 1 : splitP * Math.log(splitP / q); // MNN: +1 penalty where Q = 0
      }
      if (interiorEnd > leftUpper) {
        kl += share === 0
          ? nonZero[interiorEnd]! - nonZero[leftUpper]! // +1 per non-zero P where Q = 0
          : dLogD[interiorEnd]! - dLogD[leftUpper]! - Math.log(share) * interiorMass;
      }
      if (j === lastTarget) {
        // bin i - 1 lies wholly in the last target bin (i / targetBins >= 1); P gets the mass of bins >= i
        const p = d[i - 1]! + this.#tail[i]!;
        const q = d[i - 1] !== 0 ? share : 0;
        if (p !== 0) kl += q === 0 ? 1 : p * Math.log(p / q);
      }
      if (rightFraction > 0) {
        split = rightLower;
        splitFraction = rightLower + 1 - end; // MNN: leftUpper - start of the next target bin
        carriedQ = share * rightPart;
        leftUpper = rightLower + 1;
      } else {
        split = -1;
        leftUpper = rightLower;
      }
    }
    return kl;
  }

  #massOf(from: number, to: number): number {
    return (this.#massHigh[to]! - this.#massHigh[from]!) + (this.#massLow[to]! - this.#massLow[from]!);
  }
}

/**
 * KL divergence of candidate `i`, with MNN's per-candidate arithmetic and summation order
 * (TensorStatistic::_computeThreshold, in float64): merge bins `[0, i)` into `targetBins` bins with
 * fractional edges, spread each back over its non-zero source bins, fold the tail into bin `i - 1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exactKlDivergence } from "./_kl_search.ts";
 * const d = new Float64Array([0.5, 0.2, 0.1, 0, 0.1, 0.1]);
 * assert.ok(Math.abs(exactKlDivergence(d, 2, 2) - 0.5 * Math.log(0.5 / 0.2)) < 1e-15);
 * ```
 */
export function exactKlDivergence(d: Float64Array, targetBins: number, i: number): number {
  let tailMass = 0; // mass of bins >= i (MNN keeps a running float sum; a suffix sum has no drift)
  for (let k = d.length - 1; k >= i; k--) tailMass += d[k]!;
  const merged = new Float64Array(targetBins);
  for (let j = 0; j < targetBins; j++) {
    const start = (j * i) / targetBins; // exact for MNN's 128 target bins, as is MNN's start + binInterval
    const end = ((j + 1) * i) / targetBins;
    const leftUpper = Math.ceil(start);
    const rightLower = Math.floor(end);
    let mass = 0;
    if (leftUpper > start) mass += (leftUpper - start) * d[leftUpper - 1]!;
    if (rightLower < end) mass += (end - rightLower) * d[rightLower]!;
    for (let k = leftUpper; k < rightLower; k++) mass += d[k]!;
    merged[j] = mass;
  }
  // expand back, only over source bins that are non-zero (MNN: distribution[k] != 0)
  const expanded = new Float64Array(i);
  for (let j = 0; j < targetBins; j++) {
    const start = (j * i) / targetBins;
    const end = ((j + 1) * i) / targetBins;
    const leftUpper = Math.ceil(start);
    const rightLower = Math.floor(end);
    const leftPart = leftUpper > start && d[leftUpper - 1] !== 0 ? leftUpper - start : 0;
    const rightPart = rightLower < end && d[rightLower] !== 0 ? end - rightLower : 0;
    let support = leftPart + rightPart;
    for (let k = leftUpper; k < rightLower; k++) if (d[k] !== 0) support += 1;
    if (support === 0) continue;
    const share = merged[j]! / support;
    if (leftPart > 0) expanded[leftUpper - 1]! += share * leftPart;
    if (rightPart > 0) expanded[rightLower]! += share * rightPart;
    for (let k = leftUpper; k < rightLower; k++) if (d[k] !== 0) expanded[k]! += share;
  }
  let kl = 0;
  for (let k = 0; k < i; k++) {
    const p = k === i - 1 ? d[k]! + tailMass : d[k]!; // MNN: tail mass folded into bin i - 1
    if (p === 0) continue;
    const q = expanded[k]!;
    kl += q === 0 ? 1 : p * Math.log(p / q); // MNN TensorStatistic: +1 penalty where Q = 0
  }
  return kl;
}
