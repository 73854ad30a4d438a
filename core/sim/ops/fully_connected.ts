/**
 * FullyConnected (Gemm, MatMul with constant weights): x [M, K], weights [N, K], bias [N];
 * acc = sat32(bias[n] + Σk (x − zx)(w − zw[n])), y = clamp(zy + requantize(acc, m[n], s[n]), actMin, actMax).
 *
 * @module
 */

import { clamp, requantize, saturateInt32 } from "../fixed_point.ts";
import type { FullyConnectedOp } from "../program.ts";
import { type OpTensors, zeroPointOf } from "./_tensors.ts";

/**
 * Runs a FullyConnected op.
 *
 * @example
 * ```ts
 * import { fullyConnected } from "./fully_connected.ts";
 * import type { ProgramTensor } from "../program.ts";
 * const t = (shape: number[], data: Int8Array): ProgramTensor =>
 *   ({ name: "", dtype: "int8", shape, scale: [1], zeroPoint: [0], axis: -1, data });
 * const ts = [t([1, 2], new Int8Array([1, 2])), t([1, 2], new Int8Array([3, 4])), t([1, 1], new Int8Array(1))];
 * fullyConnected({ kind: "FullyConnected", name: "fc", inputs: [0, 1], outputs: [2], multiplier: [2 ** 30],
 *   shift: [31], actMin: -128, actMax: 127 }, { tensor: (i) => ts[i]!, array: (i) => ts[i]!.data! });
 * ts[2]!.data; // Int8Array [6]  (11 / 2, half away from zero)
 * ```
 */
export function fullyConnected(op: FullyConnectedOp, t: OpTensors): void {
  const [xi, wi, bi] = op.inputs;
  const xt = t.tensor(xi!), wt = t.tensor(wi!), yt = t.tensor(op.outputs[0]!);
  const x = t.array(xi!), w = t.array(wi!), y = t.array(op.outputs[0]!);
  const bias = bi === undefined || bi < 0 ? undefined : t.array(bi);
  const [m, k] = xt.shape as [number, number];
  const n = wt.shape[0]!;
  const zx = zeroPointOf(xt), zy = zeroPointOf(yt);
  for (let r = 0; r < m; r++) {
    for (let col = 0; col < n; col++) {
      const zw = wt.zeroPoint.length > 1 ? wt.zeroPoint[col]! : wt.zeroPoint[0] ?? 0;
      let acc = 0;
      for (let i = 0; i < k; i++) acc += (x[r * k + i]! - zx) * (w[col * k + i]! - zw);
      const total = saturateInt32(acc + (bias ? bias[col]! : 0));
      y[r * n + col] = clamp(zy + requantize(total, op.multiplier[col]!, op.shift[col]!), op.actMin, op.actMax);
    }
  }
}
