/**
 * Conv 2-D (plain, grouped, depthwise, strided, dilated, padded), NCHW, integer only:
 * acc[oc] = sat32(bias[oc] + Σ (x − zx)(w − zw[oc])) over the group's input channels and the kernel
 * window (padding reads x = zx, i.e. adds 0); y = clamp(zy + requantize(acc, m[oc], s[oc]), actMin, actMax).
 *
 * @module
 */

import { clamp, requantize, saturateInt32 } from "../fixed_point.ts";
import type { ConvOp } from "../program.ts";
import { type OpTensors, zeroPointOf } from "./_tensors.ts";

/**
 * Runs a Conv op.
 *
 * @example
 * ```ts
 * import { conv } from "./conv.ts";
 * import type { ProgramTensor } from "../program.ts";
 * const t = (shape: number[], dtype: "int8" | "int32", data: Int8Array | Int32Array): ProgramTensor =>
 *   ({ name: "", dtype, shape, scale: [1], zeroPoint: [0], axis: -1, data });
 * const tensors = [t([1, 1, 1, 2], "int8", new Int8Array([3, 4])), t([1, 1, 1, 1], "int8", new Int8Array([2])),
 *   t([1, 1, 1, 2], "int8", new Int8Array(2))];
 * conv({ kind: "Conv", name: "c", inputs: [0, 1], outputs: [2], kernel: [1, 1], strides: [1, 1], dilations: [1, 1],
 *   pads: [0, 0, 0, 0], group: 1, multiplier: [2 ** 30], shift: [30], actMin: -128, actMax: 127 },
 *   { tensor: (i) => tensors[i]!, array: (i) => tensors[i]!.data! });
 * tensors[2]!.data; // Int8Array [6, 8]
 * ```
 */
export function conv(op: ConvOp, t: OpTensors): void {
  const [xi, wi, bi] = op.inputs;
  const xt = t.tensor(xi!), wt = t.tensor(wi!), yt = t.tensor(op.outputs[0]!);
  const x = t.array(xi!), w = t.array(wi!), y = t.array(op.outputs[0]!);
  const bias = bi === undefined || bi < 0 ? undefined : t.array(bi);
  const [n, c, h, wd] = xt.shape as [number, number, number, number];
  const [oc, , oh, ow] = [yt.shape[1]!, 0, yt.shape[2]!, yt.shape[3]!];
  const [kh, kw] = op.kernel, [sh, sw] = op.strides, [dh, dw] = op.dilations, [pt, pl] = op.pads;
  const cg = c / op.group, ocg = oc / op.group;
  const zx = zeroPointOf(xt), zy = zeroPointOf(yt);
  const wzp = wt.zeroPoint;
  const kernelSize = cg * kh * kw;
  const wc = new Int32Array(w.length);
  for (let o = 0; o < oc; o++) {
    const z = wzp.length > 1 ? wzp[o]! : wzp[0] ?? 0;
    for (let k = 0; k < kernelSize; k++) wc[o * kernelSize + k] = w[o * kernelSize + k]! - z;
  }
  // Loop order (channel, tap, row, column) with the valid columns of each tap computed once: the same
  // integer sums as the textbook loop, far fewer bounds checks.
  const acc = new Int32Array(oh * ow);
  const xc = new Int32Array(h * wd);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < oc; o++) {
      const g = Math.floor(o / ocg);
      acc.fill(0);
      for (let ci = 0; ci < cg; ci++) {
        const xBase = (b * c + g * cg + ci) * h * wd;
        for (let i = 0; i < h * wd; i++) xc[i] = x[xBase + i]! - zx;
        const wBase = (o * cg + ci) * kh * kw;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const wv = wc[wBase + ky * kw + kx]!;
            if (wv === 0) continue;
            const dx = kx * dw - pl;
            const oxStart = Math.max(0, Math.ceil(-dx / sw)), oxEnd = Math.min(ow, Math.floor((wd - 1 - dx) / sw) + 1);
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy * sh - pt + ky * dh;
              if (iy < 0 || iy >= h) continue;
              const row = iy * wd + dx, out = oy * ow;
              for (let ox = oxStart; ox < oxEnd; ox++) acc[out + ox]! += xc[row + ox * sw]! * wv;
            }
          }
        }
      }
      const m = op.multiplier[o]!, s = op.shift[o]!, b0 = bias ? bias[o]! : 0;
      const yBase = (b * oc + o) * oh * ow;
      for (let i = 0; i < oh * ow; i++) {
        y[yBase + i] = clamp(zy + requantize(saturateInt32(acc[i]! + b0), m, s), op.actMin, op.actMax);
      }
    }
  }
}
