/**
 * From a float range to quantization parameters, and the integer ranges of
 * each scheme as data.
 *
 * @module
 */

import type { CalibrationRange } from "../calib/types.ts";

/** How activations are stored: symmetric int8 (MNN's default) or asymmetric uint8. */
export type ActivationScheme = "symmetric-int8" | "asymmetric-uint8";

/** Scale and zero point of one tensor (per-tensor). */
export interface QuantParams {
  scale: number;
  zeroPoint: number;
  /** Integer range actually used: [-clamp, clamp], [0, 2^bits - 1] or [-32767, 32767]. */
  qmin: number;
  qmax: number;
  /** ONNX element type of the quantized tensor: UINT8 (2), INT8 (3) or INT16 (5). */
  dataType: 2 | 3 | 5;
}

/** Options of {@link activationParams} beyond the scheme and clamp. */
export interface ActivationParamOptions {
  /** Bits per value, 2..8 (MNN quant_bits): the clamp is lowered to 2^(bits-1) - 1, uint8 uses 2^bits - 1 steps. */
  bits?: number;
  /** Store this tensor as symmetric int16 (clamp 32767) whatever the scheme, for sensitive layers. */
  int16?: boolean;
}

// Smallest scale written: a tensor that is always 0 still needs a valid, positive scale.
const MIN_SCALE = 1e-12;
/** Largest int16 magnitude used: symmetric, as int8 leaves out -128. */
export const INT16_CLAMP = 32767;

/**
 * The clamp `bits` allows: `min(clamp, 2^(bits-1) - 1)` (MNN quantized.out lowers
 * weight_clamp_value this way when quant_bits < 8).
 *
 * @example
 * ```ts
 * import { clampForBits } from "./params.ts";
 * clampForBits(127, 4); // 7
 * ```
 */
export function clampForBits(clamp: number, bits: number): number {
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) {
    throw new RangeError(`bits must be an integer in [2, 8], got ${bits}`);
  }
  return Math.min(clamp, 2 ** (bits - 1) - 1);
}

/**
 * Activation parameters for a calibrated range.
 * Symmetric: scale = threshold / clamp, zero point 0 (MNN: scale = T / feature_clamp_value).
 * Asymmetric: the calibrated range intersected with the observed one, widened to contain 0,
 * `2^bits - 1` steps, integer zero point. Int16: symmetric, scale = threshold / 32767.
 *
 * @example
 * ```ts
 * import { activationParams } from "./params.ts";
 * activationParams({ min: -1, max: 2, threshold: 2, observedMin: -1, observedMax: 2 }, "symmetric-int8", 127).scale;
 * // 2 / 127
 * ```
 */
export function activationParams(
  range: CalibrationRange,
  scheme: ActivationScheme,
  clamp: number,
  options: ActivationParamOptions = {},
): QuantParams {
  const bits = options.bits ?? 8;
  if (options.int16 || scheme === "symmetric-int8") {
    const threshold = range.threshold ?? Math.max(Math.abs(range.min), Math.abs(range.max));
    const limit = options.int16 ? INT16_CLAMP : clampForBits(clamp, bits);
    return {
      scale: Math.max(threshold / limit, MIN_SCALE),
      zeroPoint: 0,
      qmin: -limit,
      qmax: limit,
      dataType: options.int16 ? 5 : 3,
    };
  }
  clampForBits(clamp, bits);
  const steps = 2 ** bits - 1;
  // A symmetric method's [-T, T] keeps only the side the data has (ReLU: [0, T]).
  const lo = Math.min(Math.max(range.min, range.observedMin), 0);
  const hi = Math.max(Math.min(range.max, range.observedMax), 0);
  const scale = Math.max((hi - lo) / steps, MIN_SCALE);
  const zeroPoint = Math.min(steps, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint, qmin: 0, qmax: steps, dataType: 2 };
}

/**
 * Round half away from zero (MNN's and C's `roundf`), used for every float → int step.
 *
 * @example
 * ```ts
 * import { roundHalfAway } from "./params.ts";
 * roundHalfAway(-2.5); // -3
 * ```
 */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}
