/**
 * Pooling: MaxPool keeps the input's scale (max of int8 values is exact);
 * AveragePool and GlobalAveragePool get their own output range.
 *
 * @module
 */

import type { OpRule } from "../rule.ts";

/**
 * Marks MaxPool / AveragePool / GlobalAveragePool.
 *
 * @example
 * ```ts
 * import { poolRule } from "./pool.ts";
 * import { Graph } from "../../onnx/ir.ts";
 * const graph = new Graph("g", [], new Map(), [], [], new Map());
 * poolRule(
 *   { name: "p", opType: "MaxPool", domain: "", inputs: ["x"], outputs: ["y"], attributes: new Map() },
 *   { graph, isConstant: () => false, perChannel: true },
 * )?.outputs; // "shared"
 * ```
 */
export const poolRule: OpRule = (node) => {
  // A MaxPool with the optional Indices output stays float.
  if (node.outputs.length > 1 && node.outputs[1]) return undefined;
  return { activations: [0], weights: [], outputs: node.opType === "MaxPool" ? "shared" : "own" };
};
