/**
 * What an int8 ONNX model actually holds, so the bench can say when a tool
 * left weights in float (its file is then no smaller than the float one).
 *
 * @module
 */

import type { Model } from "../../core/onnx/ir.ts";
import { DataType } from "../../core/onnx/tensor.ts";

const WEIGHT_OPS = new Set(["Conv", "ConvTranspose", "Gemm", "MatMul"]);

/**
 * Counts Conv/ConvTranspose/Gemm/MatMul nodes whose second input is a constant (an initializer or Constant node,
 * possibly through Quantize/DequantizeLinear), and how many of those read an int8/uint8 initializer through a
 * DequantizeLinear.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Graph } from "../../core/onnx/ir.ts";
 * import { DataType, type Tensor } from "../../core/onnx/tensor.ts";
 * import { int8Weights } from "./inspect.ts";
 * const node = (opType: string, inputs: string[], outputs: string[]) =>
 *   ({ name: outputs[0]!, opType, domain: "", inputs, outputs, attributes: new Map() });
 * const w: Tensor = { name: "w_q", dataType: DataType.INT8, dims: [1], data: new Int8Array([1]) };
 * const nodes = [node("DequantizeLinear", ["w_q", "s"], ["w"]), node("Conv", ["x", "w"], ["y"])];
 * const graph = new Graph("g", nodes, new Map([["w_q", w]]), [], [], new Map());
 * const model = { irVersion: 8, opsetImports: [], producerName: "", producerVersion: "", graph, extra: {} };
 * assert.deepEqual(int8Weights(model), { weightOps: 1, int8WeightOps: 1 });
 * ```
 */
export function int8Weights(model: Model): { weightOps: number; int8WeightOps: number } {
  const g = model.graph;
  const producers = g.producers();
  const isConstant = (name: string): boolean => {
    if (g.initializers.has(name)) return true;
    const p = producers.get(name);
    if (p === undefined) return false;
    // A constant fake-quantized as if it were an activation (QuantizeLinear → DequantizeLinear) is still a weight.
    return p.opType === "Constant" || (/^(Dequantize|Quantize)Linear$/.test(p.opType) && isConstant(p.inputs[0]!));
  };
  let weightOps = 0, int8WeightOps = 0;
  for (const node of g.nodes) {
    const weight = node.inputs[1];
    if (!WEIGHT_OPS.has(node.opType) || !weight || !isConstant(weight)) continue;
    weightOps++;
    const p = producers.get(weight);
    const source = p?.opType === "DequantizeLinear" ? g.initializers.get(p.inputs[0]!) : undefined;
    if (source && (source.dataType === DataType.INT8 || source.dataType === DataType.UINT8)) int8WeightOps++;
  }
  return { weightOps, int8WeightOps };
}
