/**
 * Decide, from the op rules, which tensors of a prepared float graph become
 * int8: the ones to calibrate, the ones that reuse another tensor's
 * parameters, and the weights and biases to store as integers.
 *
 * @module
 */

import type { Graph, Node } from "../onnx/ir.ts";
import { DataType } from "../onnx/tensor.ts";
import { inferElementTypes } from "../onnx/types.ts";
import type { ActivationFusion } from "../passes/fuse_activation.ts";
import type { NodeMarks, RuleContext } from "./rule.ts";
import { ruleFor } from "./rules/mod.ts";

/** Options that shape the plan. */
export interface PlanOptions {
  /** Weights per output channel (true) or per tensor. */
  perChannel: boolean;
  /** Node names (or output tensor names) to leave in float, like MNN's skip_quant_op_names. */
  skip: readonly string[];
}

/** Why a node stays float. */
export interface FloatNode {
  name: string;
  opType: string;
  reason: "skipped" | "unsupported-op" | "not-quantizable";
}

/** The quantization plan of a graph. */
export interface QuantPlan {
  /** Activation tensors to calibrate, in graph order. */
  calibrated: string[];
  /** Tensors quantized with the parameters of another tensor (pass-through ops), tensor → source. */
  shared: Map<string, string>;
  /** Every quantized activation tensor (calibrated and shared), in graph order. */
  quantized: string[];
  /** Graph inputs among the calibrated tensors (MNN calibrates inputs with MAX). */
  graphInputs: Set<string>;
  /** Marks of every node that will run quantized, by node name. */
  marks: Map<string, NodeMarks>;
  /** Tensors left float inside a fused producer → activation pair. */
  fused: Set<string>;
  /** Nodes that stay float, with why. */
  floatNodes: FloatNode[];
}

/**
 * Builds the plan. Throws when a skip name matches no node or tensor.
 *
 * @example
 * ```ts
 * import { Graph } from "../onnx/ir.ts";
 * import { planQuantization } from "./plan.ts";
 * const g = new Graph("g", [
 *   { name: "s", opType: "Sigmoid", domain: "", inputs: ["x"], outputs: ["y"], attributes: new Map() },
 * ], new Map(), [{ name: "x", elemType: 1, shape: [1] }], [{ name: "y", elemType: 1, shape: [1] }], new Map());
 * planQuantization(g, [], { perChannel: true, skip: [] }).calibrated; // ["x", "y"]
 * ```
 */
export function planQuantization(graph: Graph, fusions: readonly ActivationFusion[], options: PlanOptions): QuantPlan {
  const skip = new Set(options.skip);
  const known = new Set<string>();
  for (const n of graph.nodes) {
    known.add(n.name);
    for (const o of n.outputs) known.add(o);
  }
  const unknown = [...skip].filter((s) => !known.has(s));
  if (unknown.length > 0) {
    throw new Error(`Skip list names ${unknown.map((s) => `"${s}"`).join(", ")}, not a node or tensor of the model`);
  }
  const fused = new Set(fusions.map((f) => f.tensor));
  const ctx: RuleContext = {
    graph,
    isConstant: (name) => graph.initializers.has(name),
    perChannel: options.perChannel,
  };
  const types = inferElementTypes(graph);
  const isFloat = (t: string) => types.get(t) === DataType.FLOAT;
  const marks = new Map<string, NodeMarks>();
  const floatNodes: FloatNode[] = [];
  const wanted = new Set<string>();
  const shared = new Map<string, string>();
  const own = new Set<string>();
  const isSkipped = (n: Node) => skip.has(n.name) || n.outputs.some((o) => skip.has(o));
  for (const node of graph.nodes) {
    if (isSkipped(node)) {
      floatNodes.push({ name: node.name, opType: node.opType, reason: "skipped" });
      continue;
    }
    const rule = ruleFor(node);
    const m = rule?.(node, ctx);
    // Only float tensors are quantized: shape arithmetic (int64 Concat, Mul) stays as it is.
    const allFloat = node.outputs.every((o) => !o || isFloat(o)) &&
      (m?.activations ?? []).every((slot) => isFloat(node.inputs[slot] ?? ""));
    if (!m || !allFloat) {
      floatNodes.push({ name: node.name, opType: node.opType, reason: rule ? "not-quantizable" : "unsupported-op" });
      continue;
    }
    marks.set(node.name, m);
    for (const slot of m.activations) {
      const t = node.inputs[slot];
      if (t && !fused.has(t)) wanted.add(t);
    }
    for (const out of node.outputs) {
      if (!out || fused.has(out)) continue;
      if (m.outputs === "own") own.add(out);
      else if (m.outputs === "shared" && node.inputs[0]) shared.set(out, node.inputs[0]);
    }
  }
  // A shared output whose source is not quantized (e.g. a fused tensor) needs its own range.
  const root = (t: string): string => {
    let cur = t;
    for (let i = 0; shared.has(cur) && i < 10_000; i++) cur = shared.get(cur)!;
    return cur;
  };
  const order: string[] = [];
  const seen = new Set<string>();
  const push = (t: string) => {
    if (!seen.has(t)) {
      seen.add(t);
      order.push(t);
    }
  };
  for (const v of graph.realInputs()) if (wanted.has(v.name)) push(v.name);
  for (const node of graph.nodes) {
    for (const t of node.inputs) if (t && wanted.has(t) && !graph.initializers.has(t)) push(t);
    for (const t of node.outputs) if (t && (own.has(t) || shared.has(t))) push(t);
  }
  const quantizedSet = new Set(order);
  for (const [t, src] of [...shared]) {
    const r = root(src);
    if (!quantizedSet.has(r) || fused.has(r)) shared.delete(t);
    else shared.set(t, r);
  }
  const calibrated = order.filter((t) => !shared.has(t));
  const graphInputs = new Set(graph.realInputs().map((v) => v.name).filter((n) => quantizedSet.has(n)));
  return { calibrated, shared, quantized: order, graphInputs, marks, fused, floatNodes };
}
