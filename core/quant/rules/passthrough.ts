/**
 * Data-movement ops that never change values — Reshape, Flatten, Transpose,
 * Squeeze, Unsqueeze — and nearest Resize: the output keeps the input's
 * quantization, so no calibration is needed for it.
 *
 * @module
 */

import type { OpRule } from "../rule.ts";

/**
 * Marks a value-preserving op: input 0 is an activation, the output shares its parameters.
 *
 * @example
 * ```ts
 * import { passthroughRule } from "./passthrough.ts";
 * import { Graph } from "../../onnx/ir.ts";
 * const graph = new Graph("g", [], new Map(), [], [], new Map());
 * passthroughRule(
 *   { name: "r", opType: "Reshape", domain: "", inputs: ["x", "s"], outputs: ["y"], attributes: new Map() },
 *   { graph, isConstant: (n) => n === "s", perChannel: true },
 * )?.outputs; // "shared"
 * ```
 */
export const passthroughRule: OpRule = (node, ctx) => {
  const x = node.inputs[0];
  if (!x || ctx.isConstant(x)) return undefined;
  if (node.opType === "Resize") {
    const mode = node.attributes.get("mode");
    // Linear/cubic resize interpolates new values: give it its own range.
    if (mode?.type === "string" && mode.value !== "nearest") return { activations: [0], weights: [], outputs: "own" };
  }
  return { activations: [0], weights: [], outputs: "shared" };
};
