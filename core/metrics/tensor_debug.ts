/**
 * Every per-tensor number of the debug report for one quantized tensor,
 * accumulated over samples: MNN's cosine and overflow rate, tpu-mlir's
 * euclidean similarity and SQNR, saturation at both ends, values flushed to
 * zero, the observed range, a histogram and a sample of (float, int8) pairs.
 *
 * @module
 */

import type { HostTensor } from "../exec/executor.ts";
import type { RangeParams } from "./accumulate.ts";
import { GrowingHistogram, type HistogramSummary, PairSampler } from "./distribution.ts";

/** The averaged metrics of one tensor (each a mean over samples unless said otherwise). */
export interface TensorDebugMetrics {
  /** MNN cosine similarity, float vs int8. */
  cosine: number;
  /** Lowest per-sample cosine. */
  minCosine: number;
  /** MNN overflow rate: share of int8 values at the ends of the integer range. */
  overflowRate: number;
  /** tpu-mlir euclidean similarity 1 − ‖a−b‖ / ‖(a+b)/2‖. */
  euclidean: number;
  /** tpu-mlir SQNR in dB, over the samples where the noise is not exactly 0; null when it always is. */
  sqnrDb: number | null;
  /** Share of float values below / above the representable range (clipped). */
  saturationLow: number;
  saturationHigh: number;
  /** Share of values, non-zero in float, that quantize to zero. */
  roundedToZero: number;
  /** Extremes of the float tensor over all samples seen. */
  observedMin: number;
  observedMax: number;
  samples: number;
}

/** Sizes of the compact summaries. */
export interface SummaryOptions {
  /** Histogram bins (even). */
  bins: number;
  /** Values per sample the histogram counts at most (an even stride through larger tensors). */
  histogramValues: number;
  /** (float, int8) pairs kept for the scatter plot. */
  scatterPoints: number;
  /** Seed of the pair sampler. */
  seed: number;
}

/** Default summary sizes: 128 bins over at most 4096 values per sample, 200 pairs. */
export const DEFAULT_SUMMARY_OPTIONS: SummaryOptions = {
  bins: 128,
  histogramValues: 4096,
  scatterPoints: 200,
  seed: 1,
};

/**
 * Accumulates the debug metrics of one tensor.
 *
 * @example
 * ```ts
 * import { TensorDebugAccumulator } from "./tensor_debug.ts";
 * const params = { scale: 0.1, zeroPoint: 0, qmin: -127, qmax: 127 };
 * const acc = new TensorDebugAccumulator(params);
 * const f = { data: new Float32Array([0.5, -1]), dims: [1, 2] };
 * acc.add(f, f, 1);
 * acc.metrics().cosine; // 1
 * ```
 */
export class TensorDebugAccumulator {
  private n = 0;
  private cos = 0;
  private minCos = Infinity;
  private overflow = 0;
  private euclid = 0;
  private sqnr = 0;
  private sqnrSamples = 0;
  private low = 0;
  private high = 0;
  private zero = 0;
  private min = Infinity;
  private max = -Infinity;
  private histogram: GrowingHistogram | undefined;
  private readonly sampler: PairSampler;
  private readonly options: SummaryOptions;

  /** `params`: the tensor's quantization grid. */
  constructor(readonly params: RangeParams, options: Partial<SummaryOptions> = {}) {
    this.options = { ...DEFAULT_SUMMARY_OPTIONS, ...options };
    this.sampler = new PairSampler(this.options.scatterPoints, 16, this.options.seed);
  }

  /** Adds one batch (float run, int8 run) of `batchSize` samples. */
  add(float: HostTensor, quant: HostTensor, batchSize: number): void {
    const f = float.data, q = quant.data;
    if (f.length !== q.length) {
      throw new Error(`Float and int8 tensors differ in size (${f.length} vs ${q.length} values)`);
    }
    if (f.length === 0) return;
    const per = f.length / batchSize;
    const step = Math.max(1, Math.floor(per / this.options.histogramValues));
    for (let s = 0; s < batchSize; s++) {
      const start = s * per, end = start + per;
      this.addSample(f, q, start, end);
      this.histogram ??= this.startHistogram(this.min, this.max);
      this.histogram.add(f, start, end, step);
      this.sampler.add(f, q, start, end);
      this.n++;
    }
  }

  // Every per-sample metric in one pass over the values; the definitions are the functions of
  // ./similarity.ts (the tests check both agree).
  private addSample(f: Float32Array, q: Float32Array, start: number, end: number): void {
    const p = this.params;
    // overflowRate: q at an end of the integer range; clippingRates: f beyond it, or flushed to 0.
    const qHi = (p.qmax - p.zeroPoint - 0.5) * p.scale, qLo = (p.qmin - p.zeroPoint + 0.5) * p.scale;
    const fHi = (p.qmax - p.zeroPoint + 0.5) * p.scale, fLo = (p.qmin - p.zeroPoint - 0.5) * p.scale;
    const half = 0.5 * p.scale;
    let ab = 0, aa = 0, bb = 0, dd = 0, sum = 0, sumD = 0;
    let overflow = 0, low = 0, high = 0, zero = 0;
    let min = this.min, max = this.max;
    for (let i = start; i < end; i++) {
      const a = f[i]!, b = q[i]!, d = a - b;
      if (a < min) min = a;
      if (a > max) max = a;
      ab += a * b;
      aa += a * a;
      bb += b * b;
      dd += d * d;
      sum += a;
      sumD += d;
      if (b >= qHi || b <= qLo) overflow++;
      if (a >= fHi) high++;
      else if (a <= fLo) low++;
      else if (a !== 0 && a < half && a > -half) zero++;
    }
    this.min = min;
    this.max = max;
    const n = end - start;
    const cos = aa === 0 && bb === 0 ? 1 : aa === 0 || bb === 0 ? 0 : ab / (Math.sqrt(aa) * Math.sqrt(bb));
    this.cos += cos;
    this.minCos = Math.min(this.minCos, cos);
    this.overflow += overflow / n;
    // ‖(a+b)/2‖² = (aa + 2ab + bb) / 4
    this.euclid += 1 - Math.sqrt(dd) / (Math.sqrt(Math.max(0, (aa + 2 * ab + bb) / 4)) + 1e-7);
    // Zero-mean variances from the sums; a noise variance at rounding level counts as exact (tpu-mlir: inf).
    const varA = aa - sum * sum / n, varD = dd - sumD * sumD / n;
    if (varA > 0 && varD > 1e-12 * dd) {
      this.sqnr += 10 * Math.log10(varA / varD);
      this.sqnrSamples++;
    }
    this.low += low / n;
    this.high += high / n;
    this.zero += zero / n;
  }

  /** The averages so far. */
  metrics(): TensorDebugMetrics {
    const n = this.n || NaN;
    return {
      cosine: this.cos / n,
      minCosine: this.n ? this.minCos : NaN,
      overflowRate: this.overflow / n,
      euclidean: this.euclid / n,
      sqnrDb: this.sqnrSamples ? this.sqnr / this.sqnrSamples : null,
      saturationLow: this.low / n,
      saturationHigh: this.high / n,
      roundedToZero: this.zero / n,
      observedMin: this.min,
      observedMax: this.max,
      samples: this.n,
    };
  }

  /** Histogram of the float values (empty bins at the ends trimmed). */
  histogramSummary(): HistogramSummary {
    return this.histogram?.summary() ?? { min: 0, max: 0, counts: [] };
  }

  /** The sampled (float, int8) pairs, sorted by float value. */
  scatter(): { float: number[]; quantized: number[] } {
    return this.sampler.pairs();
  }

  // The first batch and the representable range set the starting span; it only grows later.
  // A side the data does not reach (e.g. negatives after ReLU) is left out.
  private startHistogram(min: number, max: number): GrowingHistogram {
    const p = this.params;
    const clipLo = (p.qmin - p.zeroPoint) * p.scale, clipHi = (p.qmax - p.zeroPoint) * p.scale;
    const lo = Math.min(min, min < 0 ? clipLo : 0);
    const hi = Math.max(max, max > 0 ? clipHi : 0);
    return new GrowingHistogram(this.options.bins, lo, hi + (hi - lo) * 1e-6);
  }
}
