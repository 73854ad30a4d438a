/**
 * Weight quantization: symmetric MAX_ABS, per output channel or per tensor,
 * and int32 bias with scale = s_in · s_w.
 *
 * @module
 */

import { roundHalfAway } from "./params.ts";

/** Quantized weights with their scales (one per channel along `axis`, or one). */
export interface QuantizedWeights {
  data: Int8Array;
  scales: Float32Array;
  /** Channel axis the scales run along; undefined for per-tensor. */
  axis: number | undefined;
}

/**
 * Symmetric MAX_ABS quantization: scale[c] = max|w[c]| / clamp, q = round(w / scale).
 * A channel of zeros gets scale 1 so the bias scale stays finite.
 *
 * @example
 * ```ts
 * import { quantizeWeights } from "./weights.ts";
 * const q = quantizeWeights(new Float32Array([0.5, -1, 2, 4]), [2, 2], 0, 127);
 * Array.from(q.data); // [64, -127, 64, 127]
 * ```
 */
export function quantizeWeights(
  weights: Float32Array,
  dims: readonly number[],
  axis: number | undefined,
  clamp: number,
): QuantizedWeights {
  const channels = axis === undefined ? 1 : dims[axis]!;
  // Elements are visited as [outer, channel, inner] around the channel axis.
  const inner = axis === undefined ? weights.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = axis === undefined ? 1 : dims.slice(0, axis).reduce((a, b) => a * b, 1);
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
