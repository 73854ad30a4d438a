/**
 * The host side of a native program's inputs and outputs: float data quantized with the input
 * tensor's scale and zero point (round half away from zero, saturating), and outputs dequantized.
 *
 * @module
 */

import { clamp, roundHalfAway } from "./fixed_point.ts";
import { DTYPES, type ProgramTensor, type TensorArray } from "./program.ts";

/**
 * q = clamp(round_half_away(x / scale) + zeroPoint) in the tensor's type.
 *
 * @example
 * ```ts
 * import { quantizeInput } from "./io.ts";
 * quantizeInput(new Float32Array([0.5, -1, 9]), { dtype: "int8", scale: [0.25], zeroPoint: [0] });
 * // Int8Array [2, -4, 36]
 * ```
 */
export function quantizeInput(
  data: Float32Array,
  tensor: Pick<ProgramTensor, "dtype" | "scale" | "zeroPoint">,
): TensorArray {
  const { min, max } = DTYPES[tensor.dtype];
  const scale = tensor.scale[0]!, zp = tensor.zeroPoint[0] ?? 0;
  const out = tensor.dtype === "uint8" ? new Uint8Array(data.length) : new Int8Array(data.length);
  if (tensor.dtype !== "uint8" && tensor.dtype !== "int8") throw new Error(`Cannot feed a ${tensor.dtype} input`);
  for (let i = 0; i < data.length; i++) out[i] = clamp(roundHalfAway(data[i]! / scale) + zp, min, max);
  return out;
}

/**
 * (q − zeroPoint) · scale as float32.
 *
 * @example
 * ```ts
 * import { dequantizeOutput } from "./io.ts";
 * dequantizeOutput(new Int8Array([4, -2]), { scale: [0.5], zeroPoint: [0] }); // Float32Array [2, -1]
 * ```
 */
export function dequantizeOutput(data: TensorArray, tensor: Pick<ProgramTensor, "scale" | "zeroPoint">): Float32Array {
  const scale = tensor.scale[0]!, zp = tensor.zeroPoint[0] ?? 0;
  return Float32Array.from(data as ArrayLike<number>, (q) => (q - zp) * scale);
}
