/**
 * Element-type inference: which tensors of a graph are float. Enough for the
 * quantizer, which must never put a QuantizeLinear on an int64 shape tensor.
 *
 * @module
 */

import { attrInt, type Graph } from "./ir.ts";
import { DataType } from "./tensor.ts";

const INT64_OUT = new Set(["Shape", "Size", "NonZero", "ArgMax", "ArgMin", "NonMaxSuppression"]);
const BOOL_OUT = new Set([
  "Equal",
  "Less",
  "Greater",
  "LessOrEqual",
  "GreaterOrEqual",
  "Not",
  "And",
  "Or",
  "Xor",
  "IsNaN",
  "IsInf",
]);
// Ops whose output type follows a specific input rather than input 0.
const TYPE_FROM_INPUT: Record<string, number> = { Where: 1 };

/**
 * Infers the element type of every tensor from inputs, initializers, value
 * infos and a small table of op typing rules. Unknown stays 0.
 *
 * @example
 * ```ts
 * import { Graph } from "./ir.ts";
 * import { inferElementTypes } from "./types.ts";
 * const g = new Graph("g", [
 *   { name: "s", opType: "Shape", domain: "", inputs: ["x"], outputs: ["shape"], attributes: new Map() },
 * ], new Map(), [{ name: "x", elemType: 1, shape: [2] }], [], new Map());
 * inferElementTypes(g).get("shape"); // 7 (int64)
 * ```
 */
export function inferElementTypes(graph: Graph): Map<string, number> {
  const types = new Map<string, number>();
  for (const v of graph.inputs) types.set(v.name, v.elemType);
  for (const [name, t] of graph.initializers) types.set(name, t.dataType);
  for (const [name, v] of graph.valueInfo) if (v.elemType) types.set(name, v.elemType);
  for (const node of graph.nodes) {
    let type = 0;
    if (INT64_OUT.has(node.opType)) type = DataType.INT64;
    else if (BOOL_OUT.has(node.opType)) type = DataType.BOOL;
    else if (node.opType === "Cast") type = attrInt(node, "to", 0);
    else if (node.opType === "Constant") {
      const v = node.attributes.get("value");
      type = v?.type === "tensor"
        ? v.value.dataType
        : node.attributes.has("value_int") || node.attributes.has("value_ints")
        ? DataType.INT64
        : DataType.FLOAT;
    } else if (node.opType === "ConstantOfShape") {
      const v = node.attributes.get("value");
      type = v?.type === "tensor" ? v.value.dataType : DataType.FLOAT;
    } else if (node.opType === "QuantizeLinear") type = types.get(node.inputs[2] ?? "") ?? DataType.UINT8;
    else if (node.opType === "DequantizeLinear") type = DataType.FLOAT;
    else {
      const from = node.inputs[TYPE_FROM_INPUT[node.opType] ?? 0];
      type = from ? types.get(from) ?? 0 : 0;
    }
    for (const out of node.outputs) {
      if (!out) continue;
      const declared = graph.valueInfo.get(out)?.elemType || graph.outputs.find((o) => o.name === out)?.elemType;
      types.set(out, declared || type);
    }
  }
  return types;
}
