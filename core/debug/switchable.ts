/**
 * One model for every sensitivity variant: each fake-quantization in a QDQ
 * model is blended with its float input by a 0/1 switch,
 * y = x + m_k · (DQ(Q(x)) − x), and the switches are an input of shape
 * [batch, switches] — one row per sample — so a single run evaluates many
 * variants side by side. With every switch on it is MNN's simulated model
 * (weights fake-quantized per channel, activations fake-quantized in place,
 * error accumulating); with every switch off it is the float model.
 *
 * Weights cannot differ per sample, so a weighted node (Conv, ConvTranspose,
 * Gemm, MatMul: linear in its weights) keeps its float weights and gains a
 * twin on the weight and bias quantization errors:
 * N(x, W + m·ΔW, b + m·Δb) = N(x, W, b) + m · N(x, ΔW, Δb).
 *
 * @module
 */

import type { Model, Node } from "../onnx/ir.ts";
import { DataType, makeTensor, type Tensor } from "../onnx/tensor.ts";
import type { QdqAnalysis, QdqWeight } from "./qdq_graph.ts";

/** Name of the switch input: float [batch, switches], 1 = quantized. */
export const SWITCH_INPUT = "int8_debug_switches";

/** Ops whose output is linear in their weight and bias inputs together. */
const LINEAR_IN_WEIGHTS = new Set(["Conv", "ConvTranspose", "Gemm", "MatMul"]);

/** The switchable model and how its switch rows are laid out. */
export interface SwitchableModel {
  model: Model;
  /**
   * Length of a switch row: one switch per activation of the analysis (same index), then one
   * shared switch for weights that belong to no quantized activation.
   */
  switches: number;
  /** Index of the shared switch of the weights that no activation owns. */
  unownedWeights: number;
  /** Weights that stay quantized in every variant (no float original, or a consumer not linear in them). */
  fixedWeights: string[];
  /** The tensor holding switch k inside the model (one value per sample). */
  switchTensors: string[];
}

function op(
  opType: string,
  inputs: string[],
  output: string,
  name: string,
  attributes: Node["attributes"] = new Map(),
) {
  return { name, opType, domain: "", inputs, outputs: [output], attributes };
}

/**
 * Builds the switchable copy of `qdq` (which is not modified). `floatWeights`
 * gives the float original of an integer weight by its float name
 * (`QdqWeight.floatName`).
 *
 * @example
 * ```ts ignore
 * import { analyzeQdqModel } from "./qdq_graph.ts";
 * import { buildSwitchableModel, SWITCH_INPUT } from "./switchable.ts";
 * const analysis = analyzeQdqModel(qdq, { float });
 * const s = buildSwitchableModel(qdq, analysis, float.graph.initializers);
 * // feeds: { input: x (batch 2), [SWITCH_INPUT]: { data: new Float32Array(2 * s.switches).fill(1), dims: [2, s.switches] } }
 * ```
 */
export function buildSwitchableModel(
  qdq: Model,
  analysis: QdqAnalysis,
  floatWeights: ReadonlyMap<string, Tensor>,
): SwitchableModel {
  const graph = qdq.graph;
  const nodes: Node[] = graph.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs] }));
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const initializers = new Map(graph.initializers);
  const used = new Set<string>(initializers.keys());
  for (const v of [...graph.inputs, ...graph.outputs]) used.add(v.name);
  for (const n of nodes) for (const t of [...n.inputs, ...n.outputs]) used.add(t);
  const fresh = (base: string): string => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
  const added: Node[] = [];
  const column = fresh("int8_debug_column");
  initializers.set(column, makeTensor(column, DataType.INT64, [2], new BigInt64Array([-1n, 1n])));
  const switchOf = new Map<number, string>();
  // Switch k as a [batch, 1] column.
  const switchFor = (k: number): string => {
    let name = switchOf.get(k);
    if (!name) {
      const index = fresh(`int8_debug_i${k}`);
      initializers.set(index, makeTensor(index, DataType.INT64, [], new BigInt64Array([BigInt(k)])));
      const row = fresh(`int8_debug_m${k}_row`);
      added.push(
        op(
          "Gather",
          [SWITCH_INPUT, index],
          row,
          `int8_debug_switch_${k}`,
          new Map([["axis", { type: "int", value: 1 }]]),
        ),
      );
      name = fresh(`int8_debug_m${k}`);
      added.push(op("Reshape", [row, column], name, `int8_debug_switch_${k}:column`));
      switchOf.set(k, name);
    }
    return name;
  };
  // y = base + m_k ⊙ delta, per sample: delta flattened to [batch, n], scaled, shaped back.
  const addScaled = (base: string, delta: string, k: number, y: string, tag: string): void => {
    const flat = fresh(`${tag}_flat`), scaled = fresh(`${tag}_scaled`), shape = fresh(`${tag}_shape`);
    const back = fresh(`${tag}_back`);
    added.push(op("Flatten", [delta], flat, `${y}:switch_flatten`, new Map([["axis", { type: "int", value: 1 }]])));
    added.push(op("Mul", [flat, switchFor(k)], scaled, `${y}:switch_mul`));
    added.push(op("Shape", [delta], shape, `${y}:switch_shape`));
    added.push(op("Reshape", [scaled, shape], back, `${y}:switch_reshape`));
    added.push(op("Add", [base, back], y, `${y}:switch_add`));
  };

  // Activations: y = x + m · (dq − x), written to the DequantizeLinear's original output name.
  analysis.activations.forEach((a, k) => {
    const d = byName.get(a.dequantizeNode)!;
    const y = d.outputs[0]!;
    const tag = `int8_debug_a${k}`;
    const dq = fresh(`${tag}_dq`), diff = fresh(`${tag}_diff`);
    d.outputs[0] = dq;
    added.push(op("Sub", [dq, a.input], diff, `${y}:switch_sub`));
    addScaled(a.input, diff, k, y, tag);
  });

  // Weights: grouped by the node that reads them; a node is switched when all its integer weights
  // have float originals, it reads them alone and it is linear in them — else they stay int8.
  const unownedWeights = analysis.activations.length;
  const fixedWeights: string[] = [];
  const consumers = new Map<string, Node[]>();
  for (const n of nodes) for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const byConsumer = new Map<Node, QdqWeight[]>();
  for (const w of analysis.weights) {
    const users = consumers.get(w.dequantized) ?? [];
    if (users.length !== 1) fixedWeights.push(w.quantized);
    else byConsumer.set(users[0]!, [...(byConsumer.get(users[0]!) ?? []), w]);
  }
  const constant = (t: string) => graph.initializers.has(t) || analysis.weights.some((w) => w.dequantized === t);
  let twin = 0;
  for (const [node, weights] of byConsumer) {
    if (!LINEAR_IN_WEIGHTS.has(node.opType) || weights.some((w) => !w.floatName || !floatWeights.has(w.floatName))) {
      fixedWeights.push(...weights.map((w) => w.quantized));
      continue;
    }
    const j = twin++;
    const tag = `int8_debug_n${j}`;
    // The twin reads the same activations, the weight errors, and nothing for other constants.
    const delta: Node = {
      ...node,
      name: `${node.name}:switch_delta`,
      inputs: node.inputs.map((input) => constant(input) ? "" : input),
      outputs: [fresh(`${tag}_delta`)],
    };
    for (const w of weights) {
      const slot = node.inputs.indexOf(w.dequantized);
      const name = fresh(`${tag}_wf${slot}`);
      initializers.set(name, { ...floatWeights.get(w.floatName!)!, name });
      const diff = fresh(`${tag}_dw${slot}`);
      added.push(op("Sub", [w.dequantized, name], diff, `${w.dequantizeNode}:switch_delta`));
      node.inputs[slot] = name;
      delta.inputs[slot] = diff;
    }
    while (delta.inputs.length > 0 && delta.inputs[delta.inputs.length - 1] === "") delta.inputs.pop();
    const y = node.outputs[0]!;
    const base = fresh(`${tag}_base`);
    node.outputs[0] = base;
    added.push(delta);
    const owners = new Set(weights.map((w) => w.owner ?? unownedWeights));
    addScaled(base, delta.outputs[0]!, owners.size === 1 ? [...owners][0]! : unownedWeights, y, tag);
  }

  const switches = unownedWeights + 1;
  const model: Model = {
    ...qdq,
    graph: Object.assign(Object.create(Object.getPrototypeOf(graph)), graph, {
      nodes: [...nodes, ...added],
      initializers,
      inputs: [...graph.inputs, { name: SWITCH_INPUT, elemType: DataType.FLOAT, shape: ["batch", switches] }],
    }),
  };
  model.graph.sortTopologically();
  const switchTensors = Array.from({ length: switches }, (_, k) => switchOf.get(k) ?? "");
  return { model, switches, unownedWeights, fixedWeights, switchTensors };
}
