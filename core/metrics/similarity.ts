/**
 * Per-tensor error metrics between a float tensor and its int8 counterpart.
 *
 * @module
 */

/**
 * MNN's cosine similarity Σab / (√Σa² · √Σb²); 1.0 means identical direction.
 * Two all-zero tensors are identical (1); one all-zero tensor scores 0.
 *
 * @example
 * ```ts
 * import { cosineSimilarity } from "./similarity.ts";
 * cosineSimilarity(new Float32Array([1, 2]), new Float32Array([2, 4])); // 1
 * ```
 */
export function cosineSimilarity(a: Float32Array, b: Float32Array, start = 0, end = a.length): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = start; i < end; i++) {
    const x = a[i]!, y = b[i]!;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  if (aa === 0 && bb === 0) return 1;
  if (aa === 0 || bb === 0) return 0;
  return ab / (Math.sqrt(aa) * Math.sqrt(bb));
}

/**
 * Share of an int8 tensor's values that sit at the ends of its integer range
 * (MNN's overflow rate). `dequantized` holds the DequantizeLinear output.
 *
 * @example
 * ```ts
 * import { overflowRate } from "./similarity.ts";
 * overflowRate(new Float32Array([1.27, 0.5, -1.27, 0]), { scale: 0.01, zeroPoint: 0, qmin: -127, qmax: 127 }); // 0.5
 * ```
 */
export function overflowRate(
  dequantized: Float32Array,
  params: { scale: number; zeroPoint: number; qmin: number; qmax: number },
  start = 0,
  end = dequantized.length,
): number {
  if (end <= start) return 0;
  // q = round(x / scale) + zp reaches an end exactly when x is within half a step of it.
  const hi = (params.qmax - params.zeroPoint - 0.5) * params.scale;
  // When the zero point is the range's low end (uint8 after ReLU), the value 0 sits there
  // exactly and is not an overflow: only values clipped below 0 count.
  const lo = params.zeroPoint === params.qmin
    ? -0.5 * params.scale
    : (params.qmin - params.zeroPoint + 0.5) * params.scale;
  let count = 0;
  for (let i = start; i < end; i++) {
    const x = dequantized[i]!;
    if (x >= hi || (params.zeroPoint === params.qmin ? x < lo : x <= lo)) count++;
  }
  return count / (end - start);
}

/**
 * Index of the largest value in `data[start, end)`.
 *
 * @example
 * ```ts
 * import { argmax } from "./similarity.ts";
 * argmax(new Float32Array([0.1, 0.7, 0.2])); // 1
 * ```
 */
export function argmax(data: Float32Array, start = 0, end = data.length): number {
  let best = start;
  for (let i = start + 1; i < end; i++) if (data[i]! > data[best]!) best = i;
  return best - start;
}

/**
 * tpu-mlir's euclidean similarity 1 − ‖a − b‖ / ‖(a + b) / 2‖ (npz_tool compare; 1e-7 added to the
 * denominator as tpu-mlir does, so two all-zero tensors score 1). 1.0 means identical.
 *
 * @example
 * ```ts
 * import { euclideanSimilarity } from "./similarity.ts";
 * euclideanSimilarity(new Float32Array([3, 4]), new Float32Array([3, 4])); // 1
 * ```
 */
export function euclideanSimilarity(a: Float32Array, b: Float32Array, start = 0, end = a.length): number {
  let dd = 0, mm = 0;
  for (let i = start; i < end; i++) {
    const x = a[i]!, y = b[i]!;
    dd += (x - y) * (x - y);
    mm += (x + y) * (x + y) / 4;
  }
  // tpu-mlir tensor_compare: sr = ‖(x + y) / 2‖ + 1e-7
  return 1 - Math.sqrt(dd) / (Math.sqrt(mm) + 1e-7);
}

/**
 * tpu-mlir's signal-to-quantization-noise ratio in dB: 10·log10(Var(a) / Var(a − b)) with
 * zero-mean variances; `Infinity` when either variance is 0 (as tpu-mlir). Not symmetric:
 * `signal` is the float tensor, `quantized` the int8 one.
 *
 * @example
 * ```ts
 * import { sqnrDb } from "./similarity.ts";
 * sqnrDb(new Float32Array([1, -1, 1, -1]), new Float32Array([1.1, -1.1, 1.1, -1.1])); // ≈ 20
 * ```
 */
export function sqnrDb(signal: Float32Array, quantized: Float32Array, start = 0, end = signal.length): number {
  const n = end - start;
  if (n <= 0) return Infinity;
  let sumA = 0, sumD = 0;
  for (let i = start; i < end; i++) {
    sumA += signal[i]!;
    sumD += signal[i]! - quantized[i]!;
  }
  const meanA = sumA / n, meanD = sumD / n;
  let varA = 0, varD = 0;
  for (let i = start; i < end; i++) {
    const a = signal[i]! - meanA, d = signal[i]! - quantized[i]! - meanD;
    varA += a * a;
    varD += d * d;
  }
  if (varA === 0 || varD === 0) return Infinity;
  return 10 * Math.log10(varA / varD);
}

/** Shares of a float tensor's values that its quantization clips or flushes to zero. */
export interface ClippingRates {
  /** Values below the lowest representable value (q would be < qmin before clamping). */
  low: number;
  /** Values above the highest representable value (q would be > qmax). */
  high: number;
  /** Values that are not 0 in float but quantize to the zero point. */
  roundedToZero: number;
}

/**
 * Where the float values fall against a quantization grid: saturated at either end, or
 * non-zero but rounded to zero (q = round(x / scale) + zeroPoint, round half away from zero).
 *
 * @example
 * ```ts
 * import { clippingRates } from "./similarity.ts";
 * clippingRates(new Float32Array([2, -3, 0.1, 0]), { scale: 1, zeroPoint: 0, qmin: -2, qmax: 2 });
 * // { low: 0.25, high: 0, roundedToZero: 0.25 }
 * ```
 */
export function clippingRates(
  float: Float32Array,
  params: { scale: number; zeroPoint: number; qmin: number; qmax: number },
  start = 0,
  end = float.length,
): ClippingRates {
  if (end <= start) return { low: 0, high: 0, roundedToZero: 0 };
  // round(v) > qmax ⇔ v ≥ qmax + 0.5 (half away from zero); |v| < 0.5 ⇔ round(v) = 0.
  const hi = (params.qmax - params.zeroPoint + 0.5) * params.scale;
  const lo = (params.qmin - params.zeroPoint - 0.5) * params.scale;
  const half = 0.5 * params.scale;
  let low = 0, high = 0, zero = 0;
  for (let i = start; i < end; i++) {
    const x = float[i]!;
    if (x >= hi) high++;
    else if (x <= lo) low++;
    else if (x !== 0 && x < half && x > -half) zero++;
  }
  const n = end - start;
  return { low: low / n, high: high / n, roundedToZero: zero / n };
}
