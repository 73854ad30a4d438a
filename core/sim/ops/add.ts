/**
 * Add with numpy broadcasting: acc = (a − za)·ma + (b − zb)·mb (exact, < 2^41),
 * y = clamp(zy + roundingShift(acc, shift), actMin, actMax) — one rounding for both rescaled terms.
 *
 * @module
 */

import { clamp, roundingShift } from "../fixed_point.ts";
import type { AddOp } from "../program.ts";
import { forEachBroadcast } from "./_broadcast.ts";
import { type OpTensors, zeroPointOf } from "./_tensors.ts";

/**
 * Runs an Add op.
 *
 * @example
 * ```ts
 * import { add } from "./add.ts";
 * import type { ProgramTensor } from "../program.ts";
 * const t = (data: Int8Array): ProgramTensor =>
 *   ({ name: "", dtype: "int8", shape: [data.length], scale: [1], zeroPoint: [0], axis: -1, data });
 * const ts = [t(new Int8Array([10, -10])), t(new Int8Array([5, 5])), t(new Int8Array(2))];
 * add({ kind: "Add", name: "a", inputs: [0, 1], outputs: [2], multiplierA: 2 ** 30, multiplierB: 2 ** 29, shift: 30,
 *   actMin: -128, actMax: 127 }, { tensor: (i) => ts[i]!, array: (i) => ts[i]!.data! });
 * ts[2]!.data; // Int8Array [13, -8]  (10 + 2.5 → 13, -10 + 2.5 → -8)
 * ```
 */
export function add(op: AddOp, t: OpTensors): void {
  const [ai, bi] = op.inputs as [number, number];
  const at = t.tensor(ai), bt = t.tensor(bi), yt = t.tensor(op.outputs[0]!);
  const a = t.array(ai), b = t.array(bi), y = t.array(op.outputs[0]!);
  const za = zeroPointOf(at), zb = zeroPointOf(bt), zy = zeroPointOf(yt);
  const { multiplierA, multiplierB, shift, actMin, actMax } = op;
  forEachBroadcast(at.shape, bt.shape, yt.shape, (o, ia, ib) => {
    const acc = (a[ia]! - za) * multiplierA + (b[ib]! - zb) * multiplierB;
    y[o] = clamp(zy + roundingShift(acc, shift), actMin, actMax);
  });
}
