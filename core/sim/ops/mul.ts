/**
 * Mul with numpy broadcasting: acc = (a − za)(b − zb), y = clamp(zy + requantize(acc, m, s), actMin, actMax).
 *
 * @module
 */

import { clamp, requantize } from "../fixed_point.ts";
import type { MulOp } from "../program.ts";
import { forEachBroadcast } from "./_broadcast.ts";
import { type OpTensors, zeroPointOf } from "./_tensors.ts";

/**
 * Runs a Mul op.
 *
 * @example
 * ```ts
 * import { mul } from "./mul.ts";
 * import type { ProgramTensor } from "../program.ts";
 * const t = (data: Int8Array): ProgramTensor =>
 *   ({ name: "", dtype: "int8", shape: [data.length], scale: [1], zeroPoint: [0], axis: -1, data });
 * const ts = [t(new Int8Array([3, -3])), t(new Int8Array([5])), t(new Int8Array(2))];
 * mul({ kind: "Mul", name: "m", inputs: [0, 1], outputs: [2], multiplier: 2 ** 30, shift: 31, actMin: -128,
 *   actMax: 127 }, { tensor: (i) => ts[i]!, array: (i) => ts[i]!.data! });
 * ts[2]!.data; // Int8Array [8, -8]  (±15 / 2, half away from zero)
 * ```
 */
export function mul(op: MulOp, t: OpTensors): void {
  const [ai, bi] = op.inputs as [number, number];
  const at = t.tensor(ai), bt = t.tensor(bi), yt = t.tensor(op.outputs[0]!);
  const a = t.array(ai), b = t.array(bi), y = t.array(op.outputs[0]!);
  const za = zeroPointOf(at), zb = zeroPointOf(bt), zy = zeroPointOf(yt);
  const { multiplier, shift, actMin, actMax } = op;
  forEachBroadcast(at.shape, bt.shape, yt.shape, (o, ia, ib) => {
    y[o] = clamp(zy + requantize((a[ia]! - za) * (b[ib]! - zb), multiplier, shift), actMin, actMax);
  });
}
