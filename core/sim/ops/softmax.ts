/**
 * Softmax over the last axis, integer only (the C runtime's runtime/src/ops/softmax.c matches it bit for
 * bit). Softmax only depends on the differences to the row maximum, and with an int8/uint8 input those
 * are the integers 0 … 255 in units of the input scale, so one 256-entry table holds every exp it needs.
 * Per row of length L:
 *
 *   m     = max x
 *   e_i   = expTable[m − x_i]                      expTable[d] = round_half_away(2^E · exp(−scale_x · d))
 *   sum   = Σ e_i                                  ≤ L · 2^E ≤ 2^30 (E = 30 − ceil(log2 L))
 *   recip = floor(2^52 / sum)                      one division per row
 *   p_i   = floor(e_i · recip / 2^22)              e_i / sum in Q30 (e_i · recip ≤ 2^52: exact in doubles)
 *   y_i   = clamp(zy + round_half_away(p_i · multiplier / 2^shift), dtype range)    multiplier / 2^shift ≈ 2^−30 / scale_y
 *
 * Rounding: the exp table and the output round half away from zero (core/sim/fixed_point.ts); the
 * reciprocal and Q30 probability truncate (both are non-negative). The truncations and the table's
 * rounding move p_i by less than 2^−E · (1 + L · p_i) / 2, well under one output step of the usual
 * 1/256 scale for L ≤ 1000; core/sim/ops/ops_test.ts checks every case within one step of float.
 *
 * @module
 */

import { clamp, type FixedMultiplier, quantizeMultiplier, requantize, roundHalfAway } from "../fixed_point.ts";
import { DTYPES, type SoftmaxOp } from "../program.ts";
import { type OpTensors, zeroPointOf } from "./_tensors.ts";

const TWO_52 = 2 ** 52;

/** The integer parameters of a Softmax: the exp table and the Q30 → output multiplier. */
export interface SoftmaxParameters extends FixedMultiplier {
  expTable: number[];
}

/**
 * The exp table and output multiplier of a Softmax over rows of `rowLength` from an input of scale
 * `inputScale` to an output of scale `outputScale`.
 *
 * @example
 * ```ts
 * import { softmaxParameters } from "./softmax.ts";
 * const p = softmaxParameters(0.1, 1 / 256, 10);
 * [p.expTable[0], p.expTable[1], p.multiplier, p.shift]; // [67108864, 60722611, 1073741824, 52]
 * ```
 */
export function softmaxParameters(inputScale: number, outputScale: number, rowLength: number): SoftmaxParameters {
  if (!(inputScale > 0) || !(outputScale > 0)) throw new RangeError(`Softmax scales must be positive`);
  if (!Number.isInteger(rowLength) || rowLength < 1 || rowLength > 2 ** 30) {
    throw new RangeError(`Softmax row length ${rowLength} is outside [1, 2^30]`);
  }
  const e = 30 - Math.ceil(Math.log2(rowLength));
  const expTable = Array.from({ length: 256 }, (_, d) => roundHalfAway(2 ** e * Math.exp(-inputScale * d)));
  return { expTable, ...quantizeMultiplier(2 ** -30 / outputScale) };
}

/**
 * floor(2^52 / sum) for an integer sum in [1, 2^30], exactly: the double quotient may round up to the
 * next integer, never down, and q · sum stays below 2^53.
 */
function reciprocal(sum: number): number {
  const q = Math.floor(TWO_52 / sum);
  return q * sum > TWO_52 ? q - 1 : q;
}

/**
 * Runs a Softmax op.
 *
 * @example
 * ```ts
 * import { softmax, softmaxParameters } from "./softmax.ts";
 * import type { ProgramTensor } from "../program.ts";
 * const x: ProgramTensor = { name: "x", dtype: "int8", shape: [1, 3], scale: [0.1], zeroPoint: [0], axis: -1,
 *   data: new Int8Array([0, 10, 20]) };
 * const y: ProgramTensor = { name: "y", dtype: "uint8", shape: [1, 3], scale: [1 / 256], zeroPoint: [0], axis: -1,
 *   data: new Uint8Array(3) };
 * const ts = [x, y];
 * softmax({ kind: "Softmax", name: "s", inputs: [0], outputs: [1], ...softmaxParameters(0.1, 1 / 256, 3) },
 *   { tensor: (i) => ts[i]!, array: (i) => ts[i]!.data! });
 * y.data; // Uint8Array [23, 63, 170]  (float · 256: 23.05, 62.65, 170.30)
 * ```
 */
export function softmax(op: SoftmaxOp, t: OpTensors): void {
  const xt = t.tensor(op.inputs[0]!), yt = t.tensor(op.outputs[0]!);
  const x = t.array(op.inputs[0]!), y = t.array(op.outputs[0]!);
  const row = xt.shape[xt.shape.length - 1]!;
  const { min, max } = DTYPES[yt.dtype];
  const zy = zeroPointOf(yt);
  for (let start = 0; start < x.length; start += row) {
    let m = x[start]!;
    for (let i = 1; i < row; i++) m = Math.max(m, x[start + i]!);
    let sum = 0;
    for (let i = 0; i < row; i++) sum += op.expTable[m - x[start + i]!]!;
    const recip = reciprocal(sum);
    for (let i = 0; i < row; i++) {
      const p = Math.floor((op.expTable[m - x[start + i]!]! * recip) / 2 ** 22);
      y[start + i] = clamp(zy + requantize(p, op.multiplier, op.shift), min, max);
    }
  }
}
