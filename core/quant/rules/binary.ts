/**
 * Add and Mul: every non-constant input is an int8 activation; constant
 * operands stay float (they are small and keep the exact value).
 *
 * @module
 */

import type { OpRule } from "../rule.ts";

/**
 * Marks Add / Mul with at least one activation input.
 *
 * @example
 * ```ts
 * import { binaryRule } from "./binary.ts";
 * import { Graph } from "../../onnx/ir.ts";
 * const graph = new Graph("g", [], new Map(), [], [], new Map());
 * binaryRule(
 *   { name: "a", opType: "Add", domain: "", inputs: ["x", "k"], outputs: ["y"], attributes: new Map() },
 *   { graph, isConstant: (n) => n === "k", perChannel: true },
 * )?.activations; // [0]
 * ```
 */
export const binaryRule: OpRule = (node, ctx) => {
  const activations = node.inputs.flatMap((name, slot) => name && !ctx.isConstant(name) ? [slot] : []);
  if (activations.length === 0) return undefined;
  return { activations, weights: [], outputs: "own" };
};
