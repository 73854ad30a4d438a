/**
 * The integer arithmetic every native op shares, defined once (the C runtime's runtime/src/qm_fixed.h
 * mirrors it). Rounding rule, everywhere: **round half away from zero** (C `roundf`, MNN's rule, and the
 * one core/quant uses for weights and biases). A real multiplier M is stored as an integer
 * `multiplier` in [0, 2^31) and a `shift` in [1, 62] with M ≈ multiplier / 2^shift, and applied to an
 * integer `acc` as round_half_away(acc · multiplier / 2^shift) with one rounding (64-bit product in C).
 *
 * @module
 */

/** Largest real multiplier the format represents (shift ≥ 17 keeps the exact product within reach of doubles). */
export const MAX_REAL_MULTIPLIER = 2 ** 14;
/** Smallest shift of {@link requantize}'s multipliers. */
export const MIN_REQUANT_SHIFT = 17;
/** Largest shift. */
export const MAX_SHIFT = 62;

/**
 * Rounds half away from zero.
 *
 * @example
 * ```ts
 * import { roundHalfAway } from "./fixed_point.ts";
 * [roundHalfAway(2.5), roundHalfAway(-2.5), roundHalfAway(-2.4)]; // [3, -3, -2]
 * ```
 */
export function roundHalfAway(x: number): number {
  return x < 0 ? 0 - Math.round(-x) : Math.round(x);
}

/**
 * Clamps `x` to [lo, hi].
 *
 * @example
 * ```ts
 * import { clamp } from "./fixed_point.ts";
 * clamp(300, -128, 127); // 127
 * ```
 */
export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** A real multiplier as integer multiplier and right shift. */
export interface FixedMultiplier {
  multiplier: number;
  shift: number;
}

/**
 * Encodes a real multiplier in [0, 2^14) as multiplier / 2^shift with 31 significant bits
 * (multiplier in [2^30, 2^31)); below 2^-31 it becomes 0 (the product rounds to 0 anyway).
 *
 * @example
 * ```ts
 * import { quantizeMultiplier } from "./fixed_point.ts";
 * quantizeMultiplier(0.5); // { multiplier: 1073741824, shift: 31 }
 * ```
 */
export function quantizeMultiplier(real: number): FixedMultiplier {
  if (!(real >= 0) || !Number.isFinite(real)) throw new RangeError(`Cannot encode multiplier ${real}`);
  if (real >= MAX_REAL_MULTIPLIER) {
    throw new RangeError(`Multiplier ${real} is too large (at most 2^14): scales too far apart`);
  }
  if (real < 2 ** -31) return { multiplier: 0, shift: 31 };
  let exponent = Math.floor(Math.log2(real)) + 1; // real = f · 2^exponent, f in [0.5, 1)
  if (real / 2 ** exponent >= 1) exponent++;
  if (real / 2 ** exponent < 0.5) exponent--;
  let shift = 31 - exponent;
  let multiplier = roundHalfAway(real * 2 ** shift);
  if (multiplier >= 2 ** 31) {
    multiplier = roundHalfAway(multiplier / 2);
    shift--;
  }
  if (shift > MAX_SHIFT) {
    multiplier = roundHalfAway(multiplier / 2 ** (shift - MAX_SHIFT));
    shift = MAX_SHIFT;
  }
  return { multiplier, shift };
}

/**
 * Saturates to int32.
 *
 * @example
 * ```ts
 * import { saturateInt32 } from "./fixed_point.ts";
 * saturateInt32(2 ** 40); // 2147483647
 * ```
 */
export function saturateInt32(x: number): number {
  return x > 2147483647 ? 2147483647 : x < -2147483648 ? -2147483648 : x;
}

/**
 * round_half_away(acc · multiplier / 2^shift) for int32 `acc`, multiplier in [0, 2^31) and shift in
 * [17, 62], exactly (the 62-bit product is split so every step stays an exact double).
 *
 * @example
 * ```ts
 * import { quantizeMultiplier, requantize } from "./fixed_point.ts";
 * const m = quantizeMultiplier(0.25);
 * [requantize(10, m.multiplier, m.shift), requantize(-10, m.multiplier, m.shift)]; // [3, -3]
 * ```
 */
export function requantize(acc: number, multiplier: number, shift: number): number {
  const a = acc < 0 ? -acc : acc;
  const high = Math.floor(multiplier / 65536), low = multiplier - high * 65536;
  const lowProduct = a * low; // < 2^47
  const lowCarry = Math.floor(lowProduct / 65536);
  // a·multiplier = (a·high + lowCarry)·2^16 + (lowProduct mod 2^16); the dropped low bits cannot carry
  // into the rounded result because shift ≥ 17.
  const upper = a * high + lowCarry;
  const r = Math.floor((upper + 2 ** (shift - 17)) / 2 ** (shift - 16));
  return acc < 0 ? 0 - r : r;
}

/**
 * round_half_away(value / 2^shift) for an integer |value| < 2^52 and shift in [1, 62].
 *
 * @example
 * ```ts
 * import { roundingShift } from "./fixed_point.ts";
 * [roundingShift(6, 2), roundingShift(-6, 2), roundingShift(5, 2)]; // [2, -2, 1]
 * ```
 */
export function roundingShift(value: number, shift: number): number {
  if (shift >= 53) return 0;
  const a = value < 0 ? -value : value;
  const r = Math.floor((a + 2 ** (shift - 1)) / 2 ** shift);
  return value < 0 ? 0 - r : r;
}

/**
 * A pair of multipliers with one shift for adding two rescaled terms: real ratios ra, rb (each < 2^30)
 * become ma / 2^shift and mb / 2^shift, the larger with 31 significant bits.
 *
 * @example
 * ```ts
 * import { quantizeMultiplierPair } from "./fixed_point.ts";
 * quantizeMultiplierPair(1, 0.5); // { multiplierA: 1073741824, multiplierB: 536870912, shift: 30 }
 * ```
 */
export function quantizeMultiplierPair(
  ra: number,
  rb: number,
): { multiplierA: number; multiplierB: number; shift: number } {
  const largest = Math.max(ra, rb);
  if (!(largest > 0) || !Number.isFinite(largest) || ra < 0 || rb < 0) {
    throw new RangeError(`Cannot encode multipliers ${ra}, ${rb}`);
  }
  if (largest >= 2 ** 30) throw new RangeError(`Multiplier ${largest} is too large: scales too far apart`);
  let shift = Math.min(MAX_SHIFT, 31 - (Math.floor(Math.log2(largest)) + 1));
  while (roundHalfAway(largest * 2 ** shift) >= 2 ** 31) shift--;
  while (shift < MAX_SHIFT && roundHalfAway(largest * 2 ** (shift + 1)) < 2 ** 31) shift++;
  return { multiplierA: roundHalfAway(ra * 2 ** shift), multiplierB: roundHalfAway(rb * 2 ** shift), shift };
}
