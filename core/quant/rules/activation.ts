/**
 * Element-wise activations — Relu, Clip, HardSigmoid, HardSwish, Sigmoid,
 * Tanh, LeakyRelu: int8 in, int8 out with the output's own range. A Relu or
 * Clip fused into the Conv before it is handled by the fusion plan: its input
 * is then not quantized.
 *
 * @module
 */

import type { OpRule } from "../rule.ts";

/**
 * Marks an element-wise activation.
 *
 * @example
 * ```ts
 * import { activationRule } from "./activation.ts";
 * import { Graph } from "../../onnx/ir.ts";
 * const graph = new Graph("g", [], new Map(), [], [], new Map());
 * activationRule(
 *   { name: "s", opType: "Sigmoid", domain: "", inputs: ["x"], outputs: ["y"], attributes: new Map() },
 *   { graph, isConstant: () => false, perChannel: true },
 * )?.outputs; // "own"
 * ```
 */
export const activationRule: OpRule = (node, ctx) => {
  const x = node.inputs[0];
  if (!x || ctx.isConstant(x)) return undefined;
  return { activations: [0], weights: [], outputs: "own" };
};
