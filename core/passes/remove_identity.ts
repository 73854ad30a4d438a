/**
 * Pass: drop nodes that do nothing at inference time (Identity, Dropout).
 *
 * @module
 */

import type { Graph } from "../onnx/ir.ts";
import { bypassNode } from "./_graph_edit.ts";

const NO_OPS = new Set(["Identity", "Dropout"]);

/**
 * Removes Identity and inference-mode Dropout nodes, rewiring their consumers
 * to the node's input. A Dropout whose mask output is used is kept. Returns
 * how many nodes were removed.
 *
 * @example
 * ```ts
 * import { Graph } from "../onnx/ir.ts";
 * import { removeIdentities } from "./remove_identity.ts";
 * const g = new Graph("g", [
 *   { name: "a", opType: "Relu", domain: "", inputs: ["x"], outputs: ["r"], attributes: new Map() },
 *   { name: "i", opType: "Identity", domain: "", inputs: ["r"], outputs: ["y"], attributes: new Map() },
 * ], new Map(), [{ name: "x", elemType: 1, shape: [1] }], [{ name: "y", elemType: 1, shape: [1] }], new Map());
 * removeIdentities(g); // 1
 * ```
 */
export function removeIdentities(graph: Graph): number {
  let removed = 0;
  const consumers = graph.consumers();
  for (const node of [...graph.nodes]) {
    if (!NO_OPS.has(node.opType) || node.domain !== "") continue;
    const mask = node.outputs[1];
    if (mask && (consumers.has(mask) || graph.outputs.some((o) => o.name === mask))) continue;
    if (node.opType === "Dropout") node.outputs = node.outputs.slice(0, 1);
    if (bypassNode(graph, node)) removed++;
  }
  return removed;
}
