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
  const lo = (params.qmin - params.zeroPoint + 0.5) * params.scale;
  let count = 0;
  for (let i = start; i < end; i++) {
    const x = dequantized[i]!;
    if (x >= hi || x <= lo) count++;
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
