/**
 * MaxPool 2-D, NCHW: the largest integer of each window (padding never wins; a window wholly in the
 * padding gives the type's minimum). Input and output share scale and zero point.
 *
 * @module
 */

import { DTYPES, type MaxPoolOp } from "../program.ts";
import type { OpTensors } from "./_tensors.ts";

/**
 * Runs a MaxPool op.
 *
 * @example
 * ```ts
 * import { maxPool } from "./max_pool.ts";
 * import type { ProgramTensor } from "../program.ts";
 * const t = (shape: number[], data: Int8Array): ProgramTensor =>
 *   ({ name: "", dtype: "int8", shape, scale: [1], zeroPoint: [0], axis: -1, data });
 * const ts = [t([1, 1, 2, 2], new Int8Array([1, -5, 7, 3])), t([1, 1, 1, 1], new Int8Array(1))];
 * maxPool({ kind: "MaxPool", name: "p", inputs: [0], outputs: [1], kernel: [2, 2], strides: [2, 2],
 *   dilations: [1, 1], pads: [0, 0, 0, 0] }, { tensor: (i) => ts[i]!, array: (i) => ts[i]!.data! });
 * ts[1]!.data; // Int8Array [7]
 * ```
 */
export function maxPool(op: MaxPoolOp, t: OpTensors): void {
  const xt = t.tensor(op.inputs[0]!), yt = t.tensor(op.outputs[0]!);
  const x = t.array(op.inputs[0]!), y = t.array(op.outputs[0]!);
  const [n, c, h, w] = xt.shape as [number, number, number, number];
  const oh = yt.shape[2]!, ow = yt.shape[3]!;
  const [kh, kw] = op.kernel, [sh, sw] = op.strides, [dh, dw] = op.dilations, [pt, pl] = op.pads;
  const lowest = DTYPES[xt.dtype].min;
  for (let plane = 0; plane < n * c; plane++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let best = lowest;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - pl + kx * dw;
            if (ix < 0 || ix >= w) continue;
            const v = x[(plane * h + iy) * w + ix]!;
            if (v > best) best = v;
          }
        }
        y[(plane * oh + oy) * ow + ox] = best;
      }
    }
  }
}
