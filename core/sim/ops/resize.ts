/**
 * Resize, nearest: output [.., i, j] = input [.., yIndex[i], xIndex[j]] with the source indices the
 * compiler computed from ONNX's coordinate transformation and nearest mode (leading axes unscaled).
 *
 * @module
 */

import type { ResizeOp } from "../program.ts";
import type { OpTensors } from "./_tensors.ts";

/**
 * Runs a Resize op.
 *
 * @example
 * ```ts
 * import { resize } from "./resize.ts";
 * import type { ProgramTensor } from "../program.ts";
 * const t = (shape: number[], data: Int8Array): ProgramTensor =>
 *   ({ name: "", dtype: "int8", shape, scale: [1], zeroPoint: [0], axis: -1, data });
 * const ts = [t([1, 2], new Int8Array([1, 2])), t([1, 4], new Int8Array(4))];
 * resize({ kind: "Resize", name: "r", inputs: [0], outputs: [1], yIndex: [0], xIndex: [0, 0, 1, 1] },
 *   { tensor: (i) => ts[i]!, array: (i) => ts[i]!.data! });
 * ts[1]!.data; // Int8Array [1, 1, 2, 2]
 * ```
 */
export function resize(op: ResizeOp, t: OpTensors): void {
  const xt = t.tensor(op.inputs[0]!);
  const x = t.array(op.inputs[0]!), y = t.array(op.outputs[0]!);
  const rank = xt.shape.length;
  const h = xt.shape[rank - 2]!, w = xt.shape[rank - 1]!;
  const oh = op.yIndex.length, ow = op.xIndex.length;
  const planes = x.length / (h * w);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < oh; i++) {
      const row = (p * h + op.yIndex[i]!) * w;
      for (let j = 0; j < ow; j++) y[(p * oh + i) * ow + j] = x[row + op.xIndex[j]!]!;
    }
  }
}
