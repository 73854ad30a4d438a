/**
 * What an op rule says about one node: which inputs are activations to
 * quantize, which are weights (and along which axis), which is a bias, and
 * whether the outputs get their own quantization or share the input's. Rules
 * only mark; `rewrite.ts` does all graph edits.
 *
 * @module
 */

import type { Graph, Node } from "../onnx/ir.ts";

/** A weight input to store as int8. */
export interface WeightMark {
  slot: number;
  /** Per-channel axis; undefined for per-tensor. */
  axis: number | undefined;
}

/** A bias input to store as int32 with scale = s(activation input) · s(weight). */
export interface BiasMark {
  slot: number;
  activationSlot: number;
  weightSlot: number;
}

/** The marks a rule returns for one node. */
export interface NodeMarks {
  /** Input slots read as quantized activations. */
  activations: number[];
  weights: WeightMark[];
  bias?: BiasMark;
  /**
   * `"own"`: outputs are calibrated and quantized; `"shared"`: outputs reuse
   * input 0's parameters (pass-through ops like MaxPool, Reshape); `"none"`.
   */
  outputs: "own" | "shared" | "none";
}

/** What a rule may look at. */
export interface RuleContext {
  graph: Graph;
  /** True when the tensor is a constant initializer. */
  isConstant(name: string): boolean;
  /** Whether weights are quantized per channel (else per tensor). */
  perChannel: boolean;
}

/** An op rule: marks for a node, or undefined when this node cannot be quantized. */
export type OpRule = (node: Node, ctx: RuleContext) => NodeMarks | undefined;
