/**
 * Pass: turn `Constant` nodes into initializers, so weights exported as
 * Constant nodes (PaddleOCR models have no initializers at all) look like any
 * other weights to the later passes and the quantizer.
 *
 * @module
 */

import type { Graph, Node } from "../onnx/ir.ts";
import { DataType, makeTensor, type Tensor } from "../onnx/tensor.ts";
import { isGraphOutput } from "./_graph_edit.ts";

function constantValue(node: Node, name: string): Tensor | undefined {
  for (const [key, a] of node.attributes) {
    if (key === "value" && a.type === "tensor") return { ...a.value, name };
    if (key === "value_float" && a.type === "float") {
      return makeTensor(name, DataType.FLOAT, [], new Float32Array([a.value]));
    }
    if (key === "value_floats" && a.type === "floats") {
      return makeTensor(name, DataType.FLOAT, [a.value.length], Float32Array.from(a.value));
    }
    if (key === "value_int" && a.type === "int") {
      return makeTensor(name, DataType.INT64, [], new BigInt64Array([BigInt(a.value)]));
    }
    if (key === "value_ints" && a.type === "ints") {
      return makeTensor(name, DataType.INT64, [a.value.length], BigInt64Array.from(a.value.map((v) => BigInt(v))));
    }
  }
  return undefined;
}

/**
 * Replaces every Constant node (default domain) by an initializer of the same
 * name. Constants whose output is a graph output, or whose value kind is not
 * numeric (strings, sparse), are left alone. Returns how many were converted.
 *
 * @example
 * ```ts
 * import { Graph } from "../onnx/ir.ts";
 * import { DataType, makeTensor } from "../onnx/tensor.ts";
 * import { constantsToInitializers } from "./constant_to_initializer.ts";
 * const g = new Graph("g", [{
 *   name: "c", opType: "Constant", domain: "", inputs: [], outputs: ["k"],
 *   attributes: new Map([["value", { type: "tensor", value: makeTensor("", DataType.FLOAT, [1]) }]]),
 * }], new Map(), [], [], new Map());
 * constantsToInitializers(g); // 1
 * g.initializers.has("k"); // true
 * ```
 */
export function constantsToInitializers(graph: Graph): number {
  let converted = 0;
  const kept: Node[] = [];
  for (const node of graph.nodes) {
    const out = node.outputs[0];
    if (node.opType !== "Constant" || node.domain !== "" || out === undefined || isGraphOutput(graph, out)) {
      kept.push(node);
      continue;
    }
    const value = constantValue(node, out);
    if (!value) {
      kept.push(node);
      continue;
    }
    graph.initializers.set(out, value);
    graph.valueInfo.delete(out);
    converted++;
  }
  graph.nodes = kept;
  return converted;
}
