/**
 * What an op kernel sees of the program's tensors: metadata and element arrays by tensor index.
 *
 * @module
 */

import type { ProgramTensor, TensorArray } from "../program.ts";

/** Access to the tensors of a running program. */
export interface OpTensors {
  /** Metadata of tensor `index`. */
  tensor(index: number): ProgramTensor;
  /** Elements of tensor `index`: a constant's data or a view into the arena. */
  array(index: number): TensorArray;
}

/**
 * Zero point of a per-tensor quantized tensor (0 when absent).
 *
 * @example
 * ```ts
 * import { zeroPointOf } from "./_tensors.ts";
 * zeroPointOf({ zeroPoint: [-3] }); // -3
 * ```
 */
export function zeroPointOf(t: Pick<ProgramTensor, "zeroPoint">): number {
  return t.zeroPoint[0] ?? 0;
}

/**
 * Row-major strides of a shape.
 *
 * @example
 * ```ts
 * import { stridesOf } from "./_tensors.ts";
 * stridesOf([2, 3, 4]); // [12, 4, 1]
 * ```
 */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/**
 * Strides of an input broadcast (numpy rules) to `outShape`: 0 along broadcast axes.
 *
 * @example
 * ```ts
 * import { broadcastStrides } from "./_tensors.ts";
 * broadcastStrides([3, 1], [2, 3, 4]); // [0, 1, 0]
 * ```
 */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const own = stridesOf(inShape);
  const offset = outShape.length - inShape.length;
  return outShape.map((_, axis) => {
    const i = axis - offset;
    return i < 0 || inShape[i] === 1 ? 0 : own[i]!;
  });
}
