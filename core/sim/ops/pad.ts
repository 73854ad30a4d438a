/**
 * Pad (constant mode): the output is `value` (already quantized) except where it maps inside the input.
 *
 * @module
 */

import type { PadOp } from "../program.ts";
import { type OpTensors, stridesOf } from "./_tensors.ts";

/**
 * Runs a Pad op.
 *
 * @example
 * ```ts
 * import { pad } from "./pad.ts";
 * import type { ProgramTensor } from "../program.ts";
 * const t = (shape: number[], data: Int8Array): ProgramTensor =>
 *   ({ name: "", dtype: "int8", shape, scale: [1], zeroPoint: [0], axis: -1, data });
 * const ts = [t([2], new Int8Array([1, 2])), t([4], new Int8Array(4))];
 * pad({ kind: "Pad", name: "p", inputs: [0], outputs: [1], pads: [1, 1], value: -1 },
 *   { tensor: (i) => ts[i]!, array: (i) => ts[i]!.data! });
 * ts[1]!.data; // Int8Array [-1, 1, 2, -1]
 * ```
 */
export function pad(op: PadOp, t: OpTensors): void {
  const xt = t.tensor(op.inputs[0]!), yt = t.tensor(op.outputs[0]!);
  const x = t.array(op.inputs[0]!), y = t.array(op.outputs[0]!);
  y.fill(op.value);
  const rank = xt.shape.length, outStrides = stridesOf(yt.shape);
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < x.length; i++) {
    let dst = 0;
    for (let a = 0; a < rank; a++) dst += (index[a]! + op.pads[a]!) * outStrides[a]!;
    y[dst] = x[i]!;
    for (let a = rank - 1; a >= 0; a--) {
      if (++index[a]! < xt.shape[a]!) break;
      index[a] = 0;
    }
  }
}
