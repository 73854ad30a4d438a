/**
 * The op-rule registry: one explicit table from ONNX op type to the rule that
 * marks it. Adding an op is one file plus one line here.
 *
 * @module
 */

import type { OpRule } from "../rule.ts";
import { activationRule } from "./activation.ts";
import { binaryRule } from "./binary.ts";
import { concatRule } from "./concat.ts";
import { convRule } from "./conv.ts";
import { matmulRule } from "./matmul.ts";
import { passthroughRule } from "./passthrough.ts";
import { poolRule } from "./pool.ts";

/** Op type (default ONNX domain) → quantization rule. */
export const OP_RULES: Readonly<Record<string, OpRule>> = {
  Conv: convRule,
  Gemm: matmulRule,
  MatMul: matmulRule,
  Add: binaryRule,
  Mul: binaryRule,
  Concat: concatRule,
  MaxPool: poolRule,
  AveragePool: poolRule,
  GlobalAveragePool: poolRule,
  Resize: passthroughRule,
  Reshape: passthroughRule,
  Flatten: passthroughRule,
  Transpose: passthroughRule,
  Squeeze: passthroughRule,
  Unsqueeze: passthroughRule,
  Relu: activationRule,
  Clip: activationRule,
  HardSigmoid: activationRule,
  HardSwish: activationRule,
  Sigmoid: activationRule,
  Tanh: activationRule,
  LeakyRelu: activationRule,
};

/**
 * The rule for a node, if its op can be quantized.
 *
 * @example
 * ```ts
 * import { ruleFor } from "./mod.ts";
 * ruleFor({ opType: "Softmax", domain: "" }); // undefined
 * ```
 */
export function ruleFor(node: { opType: string; domain: string }): OpRule | undefined {
  if (node.domain !== "" && node.domain !== "ai.onnx") return undefined;
  return Object.hasOwn(OP_RULES, node.opType) ? OP_RULES[node.opType] : undefined;
}
