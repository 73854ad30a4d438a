/**
 * Conv (plain, grouped and depthwise): int8 input, int8 weights per output
 * channel (axis 0), int32 bias, int8 output.
 *
 * @module
 */

import type { OpRule } from "../rule.ts";

/**
 * Marks a Conv with constant weights; a Conv whose weights are computed is left float.
 *
 * @example
 * ```ts
 * import { convRule } from "./conv.ts";
 * import { Graph } from "../../onnx/ir.ts";
 * const graph = new Graph("g", [], new Map(), [], [], new Map());
 * const marks = convRule(
 *   { name: "c", opType: "Conv", domain: "", inputs: ["x", "w"], outputs: ["y"], attributes: new Map() },
 *   { graph, isConstant: (n) => n === "w", perChannel: true },
 * );
 * marks?.weights; // [{ slot: 1, axis: 0 }]
 * ```
 */
export const convRule: OpRule = (node, ctx) => {
  const [, w, b] = node.inputs;
  if (!w || !ctx.isConstant(w)) return undefined;
  return {
    activations: [0],
    weights: [{ slot: 1, axis: ctx.perChannel ? 0 : undefined }],
    ...(b && ctx.isConstant(b) ? { bias: { slot: 2, activationSlot: 0, weightSlot: 1 } } : {}),
    outputs: "own",
  };
};
