/**
 * The kernel registry: one explicit table from op kind to the file holding its integer semantics.
 *
 * @module
 */

import type { ProgramOp } from "../program.ts";
import type { OpTensors } from "./_tensors.ts";
import { add } from "./add.ts";
import { averagePool } from "./average_pool.ts";
import { concat } from "./concat.ts";
import { conv } from "./conv.ts";
import { fullyConnected } from "./fully_connected.ts";
import { globalAveragePool } from "./global_average_pool.ts";
import { lut } from "./lut.ts";
import { maxPool } from "./max_pool.ts";
import { mul } from "./mul.ts";
import { pad } from "./pad.ts";
import { reshape } from "./reshape.ts";
import { resize } from "./resize.ts";
import { softmax } from "./softmax.ts";
import { transpose } from "./transpose.ts";

export type { OpTensors } from "./_tensors.ts";

type Kernels = { [K in ProgramOp["kind"]]: (op: Extract<ProgramOp, { kind: K }>, t: OpTensors) => void };

/** Op kind → kernel. */
export const KERNELS: Readonly<Kernels> = {
  Conv: conv,
  FullyConnected: fullyConnected,
  Add: add,
  Mul: mul,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  Lut: lut,
  Reshape: reshape,
  Concat: concat,
  Transpose: transpose,
  Pad: pad,
  Resize: resize,
  Softmax: softmax,
};

/**
 * Runs one op with its kernel.
 *
 * @example
 * ```ts
 * import { runOp } from "./mod.ts";
 * import type { ProgramTensor } from "../program.ts";
 * const t = (data: Int8Array): ProgramTensor =>
 *   ({ name: "", dtype: "int8", shape: [data.length], scale: [1], zeroPoint: [0], axis: -1, data });
 * const ts = [t(new Int8Array([4])), t(new Int8Array(1))];
 * runOp({ kind: "Reshape", name: "r", inputs: [0], outputs: [1] }, { tensor: (i) => ts[i]!, array: (i) => ts[i]!.data! });
 * ts[1]!.data; // Int8Array [4]
 * ```
 */
export function runOp(op: ProgramOp, tensors: OpTensors): void {
  (KERNELS[op.kind] as (op: ProgramOp, t: OpTensors) => void)(op, tensors);
}
