/**
 * What a quantized model needs from a target ({@link QuantFeatures}), read from a quantization plan
 * (before calibration: refuse early), from a float model and the options (the same, planning first),
 * or from a finished QDQ model (any QDQ model, including other tools').
 *
 * @module
 */

import type { Graph, Model, Node } from "../core/onnx/ir.ts";
import { cloneModel } from "../core/onnx/model.ts";
import { DataType, toNumbers } from "../core/onnx/tensor.ts";
import { inferElementTypes } from "../core/onnx/types.ts";
import { prepareModel } from "../core/passes/mod.ts";
import type { ActivationScheme } from "../core/quant/params.ts";
import { planQuantization, type QuantPlan } from "../core/quant/plan.ts";
import type { NodeUse, QuantFeatures, SchemeFeature } from "./target.ts";

/** The quantization options that decide the scheme features (a subset of core/pipeline.ts's QuantizeOptions). */
export interface SchemeOptions {
  scheme: ActivationScheme;
  weightScheme?: "symmetric" | "asymmetric";
  /** Bits of weights and activations, 2..8. */
  bits: number;
  /** Tensors (or nodes) whose activations are int16. */
  int16: readonly string[];
}

function addUse(schemes: Map<SchemeFeature, string[]>, feature: SchemeFeature, where: string): void {
  const list = schemes.get(feature);
  if (!list) schemes.set(feature, [where]);
  else if (!list.includes(where)) list.push(where);
}

// Unknown element types count as float: a target that runs float ops only quantized must not miss one.
function producesFloat(types: Map<string, number>, outputs: readonly string[]): boolean {
  return outputs.some((o) => {
    const type = o ? types.get(o) ?? 0 : -1;
    return type === DataType.FLOAT || type === DataType.FLOAT16 || type === DataType.DOUBLE || type === 0;
  });
}

/** Tensors computed from initializers alone (and the initializers), in one pass over the sorted nodes. */
function constantTensors(graph: Graph): Set<string> {
  const constants = new Set(graph.initializers.keys());
  for (const n of graph.nodes) {
    const inputs = n.inputs.filter((i) => i !== "");
    if (n.opType === "Constant" || (inputs.length > 0 && inputs.every((i) => constants.has(i)))) {
      for (const o of n.outputs) if (o) constants.add(o);
    }
  }
  return constants;
}

function isConstantNode(n: Node, constants: Set<string>): boolean {
  return n.outputs.length > 0 && n.outputs.every((o) => o === "" || constants.has(o));
}

/**
 * Features of a planned quantization: nodes from the prepared graph and its plan, weights by the
 * rules' marks, activations by the options.
 *
 * @example
 * ```ts ignore
 * const features = featuresOfPlan(prepared.graph, plan, { scheme: "symmetric-int8", bits: 8, int16: [] });
 * ```
 */
export function featuresOfPlan(graph: Graph, plan: QuantPlan, options: SchemeOptions): QuantFeatures {
  const types = inferElementTypes(graph);
  const constants = constantTensors(graph);
  // A fused activation (Conv → Relu) runs quantized only with its producer: after a float Conv it is float too.
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const quantized = (n: Node) =>
    plan.marks.has(n.name) &&
    n.inputs.every((i) => !plan.fused.has(i) || plan.marks.has(producer.get(i)?.name ?? ""));
  const nodes: NodeUse[] = graph.nodes.map((n) => ({
    name: n.name,
    opType: n.opType,
    domain: n.domain,
    quantized: quantized(n),
    producesFloat: producesFloat(types, n.outputs),
    constant: isConstantNode(n, constants),
  }));
  const schemes = new Map<SchemeFeature, string[]>();
  const int16 = new Set<string>();
  for (const name of options.int16) {
    const node = graph.nodes.find((n) => n.name === name);
    for (const t of node ? [...node.inputs, ...node.outputs] : [name]) if (plan.quantized.includes(t)) int16.add(t);
  }
  const activation: SchemeFeature = options.scheme === "asymmetric-uint8" ? "activations-uint8" : "activations-int8";
  for (const t of plan.quantized) addUse(schemes, int16.has(t) ? "activations-int16" : activation, t);
  for (const node of graph.nodes) {
    for (const w of plan.marks.get(node.name)?.weights ?? []) {
      const name = node.inputs[w.slot];
      if (!name) continue;
      addUse(schemes, w.axis === undefined ? "weights-per-tensor" : "weights-per-channel", name);
      if (options.weightScheme === "asymmetric") addUse(schemes, "weights-asymmetric", name);
    }
  }
  return { nodes, schemes, bits: options.bits };
}

/**
 * Features of quantizing `model` with these options: prepares a copy and plans it as core/pipeline.ts
 * does (no calibration), so a target can refuse before the slow part.
 *
 * @example
 * ```ts ignore
 * const features = featuresOfFloatModel(model, { ...DEFAULT_QUANTIZE_OPTIONS, int16: [] });
 * assertSupported(targetByName("cortex-m"), features);
 * ```
 */
export function featuresOfFloatModel(
  model: Model,
  options: SchemeOptions & { perChannel: boolean; skip: readonly string[] },
): QuantFeatures {
  const prepared = cloneModel(model);
  const report = prepareModel(prepared);
  const plan = planQuantization(prepared.graph, report.fusions, { perChannel: options.perChannel, skip: options.skip });
  return featuresOfPlan(prepared.graph, plan, options);
}

const QDQ_DOMAINS = new Set(["", "ai.onnx", "com.microsoft"]);

function isQdq(node: { opType: string; domain: string }, op: "QuantizeLinear" | "DequantizeLinear"): boolean {
  return node.opType === op && QDQ_DOMAINS.has(node.domain);
}

/**
 * Features of a QDQ model: activation types from each QuantizeLinear's zero point, weights from each
 * DequantizeLinear of an initializer (per-channel when it has several scales, asymmetric when a zero
 * point is not 0). Bits are not visible in a QDQ model and stay unknown.
 *
 * @example
 * ```ts ignore
 * const features = featuresOfQdqModel(decodeModel(await Deno.readFile("m.int8.onnx"), "m.int8.onnx"));
 * ```
 */
export function featuresOfQdqModel(model: Model): QuantFeatures {
  const graph = model.graph;
  const types = inferElementTypes(graph);
  const constants = constantTensors(graph);
  const dequantized = new Set<string>();
  const quantizing = new Set<string>();
  const schemes = new Map<SchemeFeature, string[]>();
  const consumers = new Map<string, Node[]>();
  for (const n of graph.nodes) for (const i of n.inputs) if (i) consumers.set(i, [...consumers.get(i) ?? [], n]);
  // The float-model name of a quantized tensor: the DequantizeLinear output reading it (core/quant/rewrite.ts).
  const tensorName = (q: Node) =>
    (consumers.get(q.outputs[0] ?? "") ?? []).find((n) => isQdq(n, "DequantizeLinear"))?.outputs[0] ??
      q.inputs[0] ?? q.name;
  for (const node of graph.nodes) {
    if (isQdq(node, "QuantizeLinear")) {
      if (node.inputs[0]) quantizing.add(node.inputs[0]);
      const zp = node.inputs[2] ? graph.initializers.get(node.inputs[2]) : undefined;
      const type = zp?.dataType ?? DataType.UINT8;
      const feature: SchemeFeature | undefined = type === DataType.INT8
        ? "activations-int8"
        : type === DataType.UINT8
        ? "activations-uint8"
        : type === DataType.INT16
        ? "activations-int16"
        : undefined;
      if (feature) addUse(schemes, feature, tensorName(node));
    } else if (isQdq(node, "DequantizeLinear")) {
      for (const o of node.outputs) if (o) dequantized.add(o);
      const weight = node.inputs[0] ? graph.initializers.get(node.inputs[0]) : undefined;
      if (!weight || weight.dataType === DataType.INT32) continue; // activations; int32 biases
      const scale = node.inputs[1] ? graph.initializers.get(node.inputs[1]) : undefined;
      const zp = node.inputs[2] ? graph.initializers.get(node.inputs[2]) : undefined;
      addUse(schemes, (scale?.data.length ?? 1) > 1 ? "weights-per-channel" : "weights-per-tensor", weight.name);
      if (weight.dataType === DataType.UINT8) addUse(schemes, "weights-uint8", weight.name);
      else if (zp && toNumbers(zp).some((z) => z !== 0)) addUse(schemes, "weights-asymmetric", weight.name);
    }
  }
  // As targets/native/compile.ts reads a QDQ graph: a node runs quantized when its inputs are dequantized
  // tensors or constants (a float weight of rank ≥ 2 means the weight was left float) and its float
  // output goes straight to a QuantizeLinear, or through one Relu/Clip (then fused, quantized too).
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const floatWeight = (t: string) => {
    const init = graph.initializers.get(t);
    return init !== undefined && init.dataType === DataType.FLOAT && init.dims.length >= 2;
  };
  const inputsQuantized = (n: Node) =>
    n.inputs.some((i) => dequantized.has(i)) &&
    n.inputs.every((i) => i === "" || dequantized.has(i) || (constants.has(i) && !floatWeight(i)));
  const toQuantize = (t: string) => !graphOutputs.has(t) && quantizing.has(t);
  const isActivation = (n: Node) =>
    (n.opType === "Relu" || n.opType === "Clip") && (n.domain === "" || n.domain === "ai.onnx");
  const outputQuantized = (n: Node) => {
    const y = n.outputs[0];
    if (!y || graphOutputs.has(y)) return false;
    const users = consumers.get(y) ?? [];
    if (users.length !== 1) return false;
    const user = users[0]!;
    if (isQdq(user, "QuantizeLinear")) return true;
    return isActivation(user) && (consumers.get(user.outputs[0] ?? "") ?? []).length === 1 &&
      toQuantize(user.outputs[0] ?? "");
  };
  const quantized = new Set<Node>();
  for (const n of graph.nodes) {
    if (isQdq(n, "QuantizeLinear") || isQdq(n, "DequantizeLinear")) continue;
    if (inputsQuantized(n) && outputQuantized(n)) {
      quantized.add(n);
      const user = consumers.get(n.outputs[0]!)![0]!;
      if (isActivation(user)) quantized.add(user); // fused into n's output range
    }
  }
  const nodes: NodeUse[] = graph.nodes
    .filter((n) => !isQdq(n, "QuantizeLinear") && !isQdq(n, "DequantizeLinear"))
    .map((n) => ({
      name: n.name,
      opType: n.opType,
      domain: n.domain,
      quantized: quantized.has(n),
      producesFloat: producesFloat(types, n.outputs),
      constant: isConstantNode(n, constants),
    }));
  return { nodes, schemes };
}
