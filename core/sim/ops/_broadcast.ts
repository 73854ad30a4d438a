/**
 * Visits every element of a broadcasting binary op's output with the two input offsets.
 *
 * @module
 */

import { broadcastStrides } from "./_tensors.ts";

/**
 * Calls `visit(outIndex, aIndex, bIndex)` for every output element, in row-major order.
 *
 * @example
 * ```ts
 * import { forEachBroadcast } from "./_broadcast.ts";
 * const seen: number[][] = [];
 * forEachBroadcast([2], [1], [2], (o, a, b) => seen.push([o, a, b]));
 * seen; // [[0, 0, 0], [1, 1, 0]]
 * ```
 */
export function forEachBroadcast(
  aShape: readonly number[],
  bShape: readonly number[],
  outShape: readonly number[],
  visit: (out: number, a: number, b: number) => void,
): void {
  const sa = broadcastStrides(aShape, outShape), sb = broadcastStrides(bShape, outShape);
  const rank = outShape.length;
  const index = new Array<number>(rank).fill(0);
  let total = 1;
  for (const d of outShape) total *= d;
  let ia = 0, ib = 0;
  for (let o = 0; o < total; o++) {
    visit(o, ia, ib);
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]!++;
      ia += sa[axis]!;
      ib += sb[axis]!;
      if (index[axis]! < outShape[axis]!) break;
      ia -= sa[axis]! * outShape[axis]!;
      ib -= sb[axis]! * outShape[axis]!;
      index[axis] = 0;
    }
  }
}
