/**
 * AveragePool 2-D, NCHW: acc = Σ (x − zx) over the window's in-bounds elements; the window's count
 * (kernel area with countIncludePad, else the in-bounds elements) picks multiplier[count − 1], which
 * encodes sx / (sy · count); y = clamp(zy + requantize(acc, …), type range).
 *
 * @module
 */

import { clamp, requantize } from "../fixed_point.ts";
import { type AveragePoolOp, DTYPES } from "../program.ts";
import { type OpTensors, zeroPointOf } from "./_tensors.ts";

/**
 * Runs an AveragePool op.
 *
 * @example
 * ```ts
 * import { averagePool } from "./average_pool.ts";
 * import type { ProgramTensor } from "../program.ts";
 * const t = (shape: number[], data: Int8Array): ProgramTensor =>
 *   ({ name: "", dtype: "int8", shape, scale: [1], zeroPoint: [0], axis: -1, data });
 * const ts = [t([1, 1, 1, 2], new Int8Array([3, 4])), t([1, 1, 1, 1], new Int8Array(1))];
 * averagePool({ kind: "AveragePool", name: "p", inputs: [0], outputs: [1], kernel: [1, 2], strides: [1, 2],
 *   pads: [0, 0, 0, 0], countIncludePad: false, multiplier: [2 ** 30, 2 ** 30], shift: [30, 31] },
 *   { tensor: (i) => ts[i]!, array: (i) => ts[i]!.data! });
 * ts[1]!.data; // Int8Array [4]  (3.5 → 4)
 * ```
 */
export function averagePool(op: AveragePoolOp, t: OpTensors): void {
  const xt = t.tensor(op.inputs[0]!), yt = t.tensor(op.outputs[0]!);
  const x = t.array(op.inputs[0]!), y = t.array(op.outputs[0]!);
  const [n, c, h, w] = xt.shape as [number, number, number, number];
  const oh = yt.shape[2]!, ow = yt.shape[3]!;
  const [kh, kw] = op.kernel, [sh, sw] = op.strides, [pt, pl] = op.pads;
  const zx = zeroPointOf(xt), zy = zeroPointOf(yt);
  const { min, max } = DTYPES[yt.dtype];
  for (let plane = 0; plane < n * c; plane++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let acc = 0, count = 0;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - pt + ky;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - pl + kx;
            if (ix < 0 || ix >= w) continue;
            acc += x[(plane * h + iy) * w + ix]! - zx;
            count++;
          }
        }
        if (op.countIncludePad) count = kh * kw;
        const v = count === 0 ? 0 : requantize(acc, op.multiplier[count - 1]!, op.shift[count - 1]!);
        y[(plane * oh + oy) * ow + ox] = clamp(zy + v, min, max);
      }
    }
  }
}
