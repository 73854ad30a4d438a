/**
 * Concat along `axis`: inputs and output share quantization (the compiler requantizes inputs first),
 * so this only moves elements.
 *
 * @module
 */

import type { ConcatOp } from "../program.ts";
import type { OpTensors } from "./_tensors.ts";

/**
 * Runs a Concat op.
 *
 * @example
 * ```ts
 * import { concat } from "./concat.ts";
 * import type { ProgramTensor } from "../program.ts";
 * const t = (shape: number[], data: Int8Array): ProgramTensor =>
 *   ({ name: "", dtype: "int8", shape, scale: [1], zeroPoint: [0], axis: -1, data });
 * const ts = [t([1, 1], new Int8Array([1])), t([1, 2], new Int8Array([2, 3])), t([1, 3], new Int8Array(3))];
 * concat({ kind: "Concat", name: "c", inputs: [0, 1], outputs: [2], axis: 1 },
 *   { tensor: (i) => ts[i]!, array: (i) => ts[i]!.data! });
 * ts[2]!.data; // Int8Array [1, 2, 3]
 * ```
 */
export function concat(op: ConcatOp, t: OpTensors): void {
  const yt = t.tensor(op.outputs[0]!), y = t.array(op.outputs[0]!);
  let outer = 1, inner = 1;
  for (let i = 0; i < op.axis; i++) outer *= yt.shape[i]!;
  for (let i = op.axis + 1; i < yt.shape.length; i++) inner *= yt.shape[i]!;
  const outRow = yt.shape[op.axis]! * inner;
  let start = 0;
  for (const index of op.inputs) {
    const x = t.array(index), row = t.tensor(index).shape[op.axis]! * inner;
    for (let o = 0; o < outer; o++) y.set(x.subarray(o * row, (o + 1) * row), o * outRow + start);
    start += row;
  }
}
