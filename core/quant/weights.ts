/**
 * Weight quantization: MNN's MAX_ABS and ADMM, per output channel or per tensor, symmetric or
 * asymmetric (int8 storage with a zero point), any clamp (MNN weight_clamp_value; fewer bits
 * are a smaller clamp), and int32 bias with scale = s_in · s_w.
 *
 * @module
 */

import { roundHalfAway } from "./params.ts";

/** Weight quantization method, as MNN's `weight_quantize_method`. */
export type WeightMethod = "MAX_ABS" | "ADMM";

/** How to quantize weights beyond axis and clamp. */
export interface WeightQuantOptions {
  /** MAX_ABS (default): scale from max |w|; ADMM: MNN's alternating fit of scale and levels. */
  method?: WeightMethod;
  /**
   * Symmetric (default): levels [-clamp, clamp], no zero point. Asymmetric (MAX_ABS only): levels
   * [-clamp - 1, clamp] over [min(w, 0), max(w, 0)] with a per-channel int8 zero point.
   */
  symmetric?: boolean;
}

/** Quantized weights with their scales (one per channel along `axis`, or one). */
export interface QuantizedWeights {
  data: Int8Array;
  scales: Float32Array;
  /** Channel axis the scales run along; undefined for per-tensor. */
  axis: number | undefined;
  /** Zero points (one per scale) for asymmetric weights; absent when all are 0. */
  zeroPoints?: Int8Array;
}

/** MNN quantizeWeight.cpp InitAlpha: `alpha = max / (weightClampValue * 1.25)`. */
const ADMM_INITIAL_DIVISOR = 1.25;
/** MNN QuantizeWeightADMM: `const int maxIter = 1000`. */
const ADMM_MAX_ITERATIONS = 1000;
/** MNN UpdateQuantizedWeights / UpdateAlpha: `const float eps = 1e-9f`. */
const ADMM_EPS = 1e-9;

/** Visits the elements of each channel: channel c owns [outer, c, inner] for every outer. */
function channelLayout(dims: readonly number[], axis: number | undefined, length: number) {
  const channels = axis === undefined ? 1 : dims[axis]!;
  const inner = axis === undefined ? length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = axis === undefined ? 1 : dims.slice(0, axis).reduce((a, b) => a * b, 1);
  return { channels, inner, outer };
}

/**
 * Quantizes weights to int8 storage. MAX_ABS symmetric: scale[c] = max|w[c]| / clamp,
 * q = round(w / scale). A channel of zeros gets scale 1 so the bias scale stays finite.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantizeWeights } from "./weights.ts";
 * const q = quantizeWeights(new Float32Array([0.5, -1, 2, 4]), [2, 2], 0, 127);
 * assert.deepEqual(Array.from(q.data), [64, -127, 64, 127]);
 * const a = quantizeWeights(new Float32Array([0, 1, 2, 3]), [1, 4], 0, 127, { symmetric: false });
 * assert.deepEqual([a.data[0], a.data[3], a.zeroPoints![0]], [-128, 127, -128]);
 * ```
 */
export function quantizeWeights(
  weights: Float32Array,
  dims: readonly number[],
  axis: number | undefined,
  clamp: number,
  options: WeightQuantOptions = {},
): QuantizedWeights {
  const method = options.method ?? "MAX_ABS";
  const symmetric = options.symmetric ?? true;
  if (!symmetric && method !== "MAX_ABS") {
    throw new RangeError(`Cannot quantize weights asymmetrically with ${method}: only MAX_ABS has an asymmetric form`);
  }
  if (!symmetric) return quantizeAsymmetric(weights, dims, axis, clamp);
  const { channels, inner, outer } = channelLayout(dims, axis, weights.length);
  const maxAbs = new Float64Array(channels);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      let m = maxAbs[c]!;
      for (let i = 0; i < inner; i++) {
        const v = Math.abs(weights[base + i]!);
        if (v > m) m = v;
      }
      maxAbs[c] = m;
    }
  }
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) scales[c] = maxAbs[c]! > 0 ? maxAbs[c]! / clamp : 1;
  if (method === "ADMM") {
    for (let c = 0; c < channels; c++) {
      if (maxAbs[c]! > 0) scales[c] = admmWeightScale(weights, c, channels, inner, outer, maxAbs[c]!, clamp);
    }
  }
  const data = new Int8Array(weights.length);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      const s = scales[c]!;
      for (let i = 0; i < inner; i++) {
        const q = roundHalfAway(weights[base + i]! / s);
        data[base + i] = q > clamp ? clamp : q < -clamp ? -clamp : q;
      }
    }
  }
  return { data, scales, axis };
}

/**
 * MNN's QuantizeWeightADMM for one channel: α₀ = max|w| / (1.25·clamp), then alternate
 * q = clamp(round(w / α)) and α = Σ w·q / Σ q² (up to 1000 times; stops once α is a fixed point).
 */
function admmWeightScale(
  weights: Float32Array,
  c: number,
  channels: number,
  inner: number,
  outer: number,
  maxAbs: number,
  clamp: number,
): number {
  let alpha = maxAbs / (clamp * ADMM_INITIAL_DIVISOR);
  for (let iteration = 0; iteration < ADMM_MAX_ITERATIONS; iteration++) {
    const inverse = 1 / (alpha + ADMM_EPS);
    let wq = 0, qq = 0;
    for (let o = 0; o < outer; o++) {
      const base = (o * channels + c) * inner;
      for (let i = 0; i < inner; i++) {
        const w = weights[base + i]!;
        const r = roundHalfAway(w * inverse);
        const q = r > clamp ? clamp : r < -clamp ? -clamp : r;
        wq += w * q;
        qq += q * q;
      }
    }
    const next = wq / (qq + ADMM_EPS);
    if (next === alpha) break;
    alpha = next;
  }
  return alpha;
}

function quantizeAsymmetric(
  weights: Float32Array,
  dims: readonly number[],
  axis: number | undefined,
  clamp: number,
): QuantizedWeights {
  const { channels, inner, outer } = channelLayout(dims, axis, weights.length);
  const qmin = -clamp - 1, qmax = clamp;
  const lo = new Float64Array(channels), hi = new Float64Array(channels);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      for (let i = 0; i < inner; i++) {
        const v = weights[base + i]!;
        if (v < lo[c]!) lo[c] = v;
        if (v > hi[c]!) hi[c] = v;
      }
    }
  }
  const scales = new Float32Array(channels);
  const zeroPoints = new Int8Array(channels);
  for (let c = 0; c < channels; c++) {
    const range = hi[c]! - lo[c]!;
    scales[c] = range > 0 ? range / (qmax - qmin) : 1;
    zeroPoints[c] = Math.min(qmax, Math.max(qmin, roundHalfAway(qmin - lo[c]! / scales[c]!)));
  }
  const data = new Int8Array(weights.length);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      const s = scales[c]!, z = zeroPoints[c]!;
      for (let i = 0; i < inner; i++) {
        const q = roundHalfAway(weights[base + i]! / s) + z;
        data[base + i] = q > qmax ? qmax : q < qmin ? qmin : q;
      }
    }
  }
  return { data, scales, axis, zeroPoints };
}

/**
 * The float weights the int8 ones stand for: `(q - zeroPoint) · scale` per channel.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dequantizeWeights, quantizeWeights } from "./weights.ts";
 * const w = new Float32Array([0.5, -1, 2, 4]);
 * const back = dequantizeWeights(quantizeWeights(w, [2, 2], 0, 127), [2, 2]);
 * assert.ok(Math.abs(back[0]! - 0.5) < 0.01);
 * ```
 */
export function dequantizeWeights(q: QuantizedWeights, dims: readonly number[]): Float32Array {
  const { channels, inner, outer } = channelLayout(dims, q.axis, q.data.length);
  const out = new Float32Array(q.data.length);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      const s = q.scales[c]!, z = q.zeroPoints?.[c] ?? 0;
      for (let i = 0; i < inner; i++) out[base + i] = (q.data[base + i]! - z) * s;
    }
  }
  return out;
}

/**
 * Bias to int32 with per-channel scale s_in · s_w[c] (zero point 0), saturating.
 *
 * @example
 * ```ts
 * import { quantizeBias } from "./weights.ts";
 * const b = quantizeBias(new Float32Array([1, -1]), 0.5, new Float32Array([0.1, 0.2]));
 * Array.from(b.data); // [20, -10]
 * ```
 */
export function quantizeBias(
  bias: Float32Array,
  inputScale: number,
  weightScales: Float32Array,
): { data: Int32Array; scales: Float32Array } {
  const n = bias.length;
  const scales = new Float32Array(n);
  const data = new Int32Array(n);
  for (let c = 0; c < n; c++) {
    // float32 product, exactly what the graph's Mul(s_in, s_w) computes
    const s = Math.fround(Math.fround(inputScale) * weightScales[weightScales.length === 1 ? 0 : c]!);
    scales[c] = s;
    const q = roundHalfAway(bias[c]! / s);
    data[c] = Math.max(-2147483647, Math.min(2147483647, q));
  }
  return { data, scales };
}
