/**
 * Transpose: output axis i is input axis perm[i].
 *
 * @module
 */

import type { TransposeOp } from "../program.ts";
import { type OpTensors, stridesOf } from "./_tensors.ts";

/**
 * Runs a Transpose op.
 *
 * @example
 * ```ts
 * import { transpose } from "./transpose.ts";
 * import type { ProgramTensor } from "../program.ts";
 * const t = (shape: number[], data: Int8Array): ProgramTensor =>
 *   ({ name: "", dtype: "int8", shape, scale: [1], zeroPoint: [0], axis: -1, data });
 * const ts = [t([2, 3], new Int8Array([1, 2, 3, 4, 5, 6])), t([3, 2], new Int8Array(6))];
 * transpose({ kind: "Transpose", name: "t", inputs: [0], outputs: [1], perm: [1, 0] },
 *   { tensor: (i) => ts[i]!, array: (i) => ts[i]!.data! });
 * ts[1]!.data; // Int8Array [1, 4, 2, 5, 3, 6]
 * ```
 */
export function transpose(op: TransposeOp, t: OpTensors): void {
  const xt = t.tensor(op.inputs[0]!), yt = t.tensor(op.outputs[0]!);
  const x = t.array(op.inputs[0]!), y = t.array(op.outputs[0]!);
  const inStrides = stridesOf(xt.shape);
  const stride = op.perm.map((p) => inStrides[p]!);
  const shape = yt.shape, rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < y.length; o++) {
    y[o] = x[src]!;
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]!++;
      src += stride[axis]!;
      if (index[axis]! < shape[axis]!) break;
      src -= stride[axis]! * shape[axis]!;
      index[axis] = 0;
    }
  }
}
