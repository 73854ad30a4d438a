/**
 * Concat: int8 inputs, int8 output with its own range.
 *
 * @module
 */

import type { OpRule } from "../rule.ts";

/**
 * Marks Concat: every non-constant input is an activation.
 *
 * @example
 * ```ts
 * import { concatRule } from "./concat.ts";
 * import { Graph } from "../../onnx/ir.ts";
 * const graph = new Graph("g", [], new Map(), [], [], new Map());
 * concatRule(
 *   { name: "c", opType: "Concat", domain: "", inputs: ["a", "b"], outputs: ["y"], attributes: new Map() },
 *   { graph, isConstant: () => false, perChannel: true },
 * )?.outputs; // "own"
 * ```
 */
export const concatRule: OpRule = (node, ctx) => {
  const activations = node.inputs.flatMap((name, slot) => name && !ctx.isConstant(name) ? [slot] : []);
  if (activations.length === 0) return undefined;
  return { activations, weights: [], outputs: "own" };
};
