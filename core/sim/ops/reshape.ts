/**
 * Reshape (also Flatten, Squeeze, Unsqueeze): the same elements under the output's shape.
 *
 * @module
 */

import type { ReshapeOp } from "../program.ts";
import type { OpTensors } from "./_tensors.ts";

/**
 * Runs a Reshape op.
 *
 * @example
 * ```ts
 * import { reshape } from "./reshape.ts";
 * import type { ProgramTensor } from "../program.ts";
 * const t = (shape: number[], data: Int8Array): ProgramTensor =>
 *   ({ name: "", dtype: "int8", shape, scale: [1], zeroPoint: [0], axis: -1, data });
 * const ts = [t([2, 1], new Int8Array([1, 2])), t([2], new Int8Array(2))];
 * reshape({ kind: "Reshape", name: "r", inputs: [0], outputs: [1] }, { tensor: (i) => ts[i]!, array: (i) => ts[i]!.data! });
 * ts[1]!.data; // Int8Array [1, 2]
 * ```
 */
export function reshape(op: ReshapeOp, t: OpTensors): void {
  const x = t.array(op.inputs[0]!), y = t.array(op.outputs[0]!);
  if (x !== y) y.set(x);
}
