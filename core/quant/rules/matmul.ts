/**
 * Gemm and MatMul: int8 activations, constant right-hand side as int8 weights
 * per output column, Gemm's 1-D C as int32 bias.
 *
 * @module
 */

import { attrInt } from "../../onnx/ir.ts";
import type { OpRule } from "../rule.ts";

/**
 * Marks Gemm (B constant: per-channel along the output axis, which is 0 with
 * transB = 1 and 1 otherwise) and MatMul (2-D constant B: axis 1; two
 * activations: both quantized).
 *
 * @example
 * ```ts
 * import { matmulRule } from "./matmul.ts";
 * import { Graph } from "../../onnx/ir.ts";
 * const graph = new Graph("g", [], new Map(), [], [], new Map());
 * matmulRule(
 *   { name: "m", opType: "MatMul", domain: "", inputs: ["x", "y"], outputs: ["z"], attributes: new Map() },
 *   { graph, isConstant: () => false, perChannel: true },
 * )?.activations; // [0, 1]
 * ```
 */
export const matmulRule: OpRule = (node, ctx) => {
  const [a, b, c] = node.inputs;
  if (!a || !b || ctx.isConstant(a)) return undefined;
  if (!ctx.isConstant(b)) {
    if (node.opType === "Gemm") return undefined;
    return { activations: [0, 1], weights: [], outputs: "own" };
  }
  const dims = ctx.graph.initializers.get(b)!.dims;
  if (dims.length !== 2) {
    return { activations: [0], weights: [{ slot: 1, axis: undefined }], outputs: "own" };
  }
  const transB = node.opType === "Gemm" && attrInt(node, "transB", 0) === 1;
  if (node.opType === "Gemm" && attrInt(node, "transA", 0) === 1) return undefined;
  const axis = ctx.perChannel ? (transB ? 0 : 1) : undefined;
  const outDim = transB ? dims[0]! : dims[1]!;
  const biasDims = c && ctx.isConstant(c) ? ctx.graph.initializers.get(c)!.dims : undefined;
  const biasOk = biasDims !== undefined && biasDims.length === 1 && biasDims[0] === outDim &&
    attrInt(node, "beta", 1) === 1;
  return {
    activations: [0],
    weights: [{ slot: 1, axis }],
    ...(biasOk ? { bias: { slot: 2, activationSlot: 0, weightSlot: 1 } } : {}),
    outputs: "own",
  };
};
