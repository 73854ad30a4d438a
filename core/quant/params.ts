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
  /** Integer range actually used: [-clamp, clamp] or [0, 255]. */
  qmin: number;
  qmax: number;
  /** ONNX element type of the quantized tensor: INT8 (3) or UINT8 (2). */
  dataType: 2 | 3;
}

// Smallest scale written: a tensor that is always 0 still needs a valid, positive scale.
const MIN_SCALE = 1e-12;

/**
 * Activation parameters for a calibrated range.
 * Symmetric: scale = threshold / clamp, zero point 0 (MNN: scale = T / feature_clamp_value).
 * Asymmetric: the range widened to contain 0, 255 steps, integer zero point.
 *
 * @example
 * ```ts
 * import { activationParams } from "./params.ts";
 * activationParams({ min: -1, max: 2, threshold: 2, observedMin: -1, observedMax: 2 }, "symmetric-int8", 127).scale;
 * // 2 / 127
 * ```
 */
export function activationParams(range: CalibrationRange, scheme: ActivationScheme, clamp: number): QuantParams {
  if (scheme === "symmetric-int8") {
    const threshold = range.threshold ?? Math.max(Math.abs(range.min), Math.abs(range.max));
    return { scale: Math.max(threshold / clamp, MIN_SCALE), zeroPoint: 0, qmin: -clamp, qmax: clamp, dataType: 3 };
  }
  const lo = Math.min(range.min, 0), hi = Math.max(range.max, 0);
  const scale = Math.max((hi - lo) / 255, MIN_SCALE);
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint, qmin: 0, qmax: 255, dataType: 2 };
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
