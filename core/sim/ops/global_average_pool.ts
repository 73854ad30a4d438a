/**
 * GlobalAveragePool, NCHW → [N, C, 1, 1]: acc = Σ (x − zx) over H·W, multiplier encoding
 * sx / (sy · H · W); y = clamp(zy + requantize(acc, m, s), type range).
 *
 * @module
 */

import { clamp, requantize } from "../fixed_point.ts";
import { DTYPES, type GlobalAveragePoolOp } from "../program.ts";
import { type OpTensors, zeroPointOf } from "./_tensors.ts";

/**
 * Runs a GlobalAveragePool op.
 *
 * @example
 * ```ts
 * import { globalAveragePool } from "./global_average_pool.ts";
 * import type { ProgramTensor } from "../program.ts";
 * const t = (shape: number[], data: Int8Array): ProgramTensor =>
 *   ({ name: "", dtype: "int8", shape, scale: [1], zeroPoint: [0], axis: -1, data });
 * const ts = [t([1, 1, 2, 2], new Int8Array([1, 2, 3, 4])), t([1, 1, 1, 1], new Int8Array(1))];
 * globalAveragePool({ kind: "GlobalAveragePool", name: "g", inputs: [0], outputs: [1], multiplier: 2 ** 30,
 *   shift: 32 }, { tensor: (i) => ts[i]!, array: (i) => ts[i]!.data! });
 * ts[1]!.data; // Int8Array [3]  (10 / 4 = 2.5 → 3)
 * ```
 */
export function globalAveragePool(op: GlobalAveragePoolOp, t: OpTensors): void {
  const xt = t.tensor(op.inputs[0]!), yt = t.tensor(op.outputs[0]!);
  const x = t.array(op.inputs[0]!), y = t.array(op.outputs[0]!);
  const [n, c, h, w] = xt.shape as [number, number, number, number];
  const zx = zeroPointOf(xt), zy = zeroPointOf(yt);
  const { min, max } = DTYPES[yt.dtype];
  const area = h * w;
  for (let plane = 0; plane < n * c; plane++) {
    let acc = 0;
    for (let i = 0; i < area; i++) acc += x[plane * area + i]! - zx;
    y[plane] = clamp(zy + requantize(acc, op.multiplier, op.shift), min, max);
  }
}
