/**
 * Lut: y = values[x − dtype min] for an int8 or uint8 input — requantization to another scale and every
 * element-wise activation (Relu, Clip, Sigmoid, HardSigmoid, HardSwish, Tanh, LeakyRelu); the 256
 * entries are the output type's bytes, computed by the compiler.
 *
 * @module
 */

import { DTYPES, type LutOp } from "../program.ts";
import type { OpTensors } from "./_tensors.ts";

/**
 * Runs a Lut op.
 *
 * @example
 * ```ts
 * import { lut } from "./lut.ts";
 * import type { ProgramTensor } from "../program.ts";
 * const t = (data: Int8Array): ProgramTensor =>
 *   ({ name: "", dtype: "int8", shape: [data.length], scale: [1], zeroPoint: [0], axis: -1, data });
 * const ts = [t(new Int8Array([-128, 5])), t(new Int8Array(2))];
 * const values = new Uint8Array(256).map((_, i) => Math.max(0, i - 128)); // Relu
 * lut({ kind: "Lut", name: "r", inputs: [0], outputs: [1], values }, { tensor: (i) => ts[i]!, array: (i) => ts[i]!.data! });
 * ts[1]!.data; // Int8Array [0, 5]
 * ```
 */
export function lut(op: LutOp, t: OpTensors): void {
  const xt = t.tensor(op.inputs[0]!), yt = t.tensor(op.outputs[0]!);
  const x = t.array(op.inputs[0]!), y = t.array(op.outputs[0]!);
  const offset = DTYPES[xt.dtype].min;
  const signedOut = yt.dtype === "int8";
  for (let i = 0; i < x.length; i++) {
    const v = op.values[x[i]! - offset]!;
    y[i] = signedOut && v > 127 ? v - 256 : v;
  }
}
