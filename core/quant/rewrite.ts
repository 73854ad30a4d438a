/**
 * The single rewriter: turns a prepared float model plus a plan and
 * parameters into a QDQ ONNX model. Each quantized activation T gets
 * `producer → T_float → QuantizeLinear → DequantizeLinear → T`, so every
 * tensor keeps its float-model name (the debug report compares by name).
 * Weights become int8 initializers behind a per-axis DequantizeLinear; biases
 * become int32.
 *
 * @module
 */

import type { Graph, Model, Node } from "../onnx/ir.ts";
import { opsetVersion } from "../onnx/model.ts";
import { DataType, makeTensor, type TensorData, toFloat32 } from "../onnx/tensor.ts";
import type { QuantParams } from "./params.ts";
import type { QuantPlan } from "./plan.ts";
import { quantizeBias, type QuantizedWeights, quantizeWeights, type WeightQuantOptions } from "./weights.ts";

/** Weight settings: clamp, and method / symmetry (default MAX_ABS, symmetric). */
export interface WeightOptions extends WeightQuantOptions {
  /** Largest weight magnitude, MNN `weight_clamp_value` (default 127). */
  clamp: number;
}

/** Domain of int16 QuantizeLinear/DequantizeLinear below opset 21 (ONNX Runtime's contrib ops). */
const INT16_QDQ_DOMAIN = "com.microsoft";

/** Sizes of what the rewrite wrote, for the report. */
export interface RewriteSummary {
  activationsQuantized: number;
  weightsQuantized: number;
  biasesQuantized: number;
  /** Per-weight-initializer quantization scales, by the float initializer name. */
  weightScales: Map<string, QuantizedWeights>;
}

function qdqNode(
  op: "QuantizeLinear" | "DequantizeLinear",
  name: string,
  inputs: string[],
  output: string,
  axis?: number,
): Node {
  const attributes = new Map();
  if (axis !== undefined) attributes.set("axis", { type: "int", value: axis });
  return { name, opType: op, domain: "", inputs, outputs: [output], attributes };
}

/**
 * Rewrites `model` in place into QDQ form. `params` must hold parameters for
 * every tensor in `plan.quantized` (shared ones included).
 *
 * @example
 * ```ts ignore
 * import { rewriteToQdq } from "./rewrite.ts";
 * const summary = rewriteToQdq(model, plan, params, { clamp: 127 });
 * ```
 */
export function rewriteToQdq(
  model: Model,
  plan: QuantPlan,
  params: ReadonlyMap<string, QuantParams>,
  weights: WeightOptions,
): RewriteSummary {
  const graph = model.graph;
  const added: Node[] = [];
  const graphInputNames = new Set(graph.inputs.map((v) => v.name));
  // Helper tensors get short indexed names (s3, q3, f3, …) and the node names carry the
  // float-model names once: long exporter names repeated on every QDQ edge would otherwise
  // take a large share of a small model's file.
  const fresh = nameAllocator(graph);
  const initializer = (base: string, dataType: number, dims: number[], data: TensorData): string => {
    const name = fresh(base);
    graph.initializers.set(name, makeTensor(name, dataType, dims, data));
    return name;
  };

  // Activations. Symmetric int8 tensors all share one zero-point initializer (0, int8): it
  // fixes QuantizeLinear's output type.
  let sharedInt8Zero: string | undefined;
  const zeroPointFor = (p: QuantParams, k: number): string => {
    if (p.dataType === DataType.INT8 && p.zeroPoint === 0) {
      sharedInt8Zero ??= initializer("zero_point_int8", DataType.INT8, [], new Int8Array(1));
      return sharedInt8Zero;
    }
    const data = p.dataType === DataType.INT8
      ? new Int8Array([p.zeroPoint])
      : p.dataType === DataType.INT16
      ? new Int16Array([p.zeroPoint])
      : new Uint8Array([p.zeroPoint]);
    return initializer(`z${k}`, p.dataType, [], data);
  };
  // int16 Q/DQ is standard from opset 21; below, ONNX Runtime runs its com.microsoft versions.
  const int16Domain = opsetVersion(model) >= 21 ? "" : INT16_QDQ_DOMAIN;
  const activationQdq = (p: QuantParams, node: Node): Node => {
    if (p.dataType === DataType.INT16) node.domain = int16Domain;
    return node;
  };
  plan.quantized.forEach((t, k) => {
    const p = params.get(t);
    if (!p) throw new Error(`No quantization parameters for tensor "${t}"`);
    const scale = initializer(`s${k}`, DataType.FLOAT, [], new Float32Array([p.scale]));
    const zeroPoint = zeroPointFor(p, k);
    const quantized = fresh(`q${k}`);
    if (graphInputNames.has(t)) {
      const dequantized = fresh(dequantizedInputName(t));
      for (const n of graph.nodes) n.inputs = n.inputs.map((x) => x === t ? dequantized : x);
      added.push(activationQdq(p, qdqNode("QuantizeLinear", `${t}:Q`, [t, scale, zeroPoint], quantized)));
      added.push(activationQdq(p, qdqNode("DequantizeLinear", `${t}:DQ`, [quantized, scale, zeroPoint], dequantized)));
    } else {
      const float = fresh(`f${k}`);
      for (const n of graph.nodes) n.outputs = n.outputs.map((x) => x === t ? float : x);
      added.push(activationQdq(p, qdqNode("QuantizeLinear", `${t}:Q`, [float, scale, zeroPoint], quantized)));
      added.push(activationQdq(p, qdqNode("DequantizeLinear", `${t}:DQ`, [quantized, scale, zeroPoint], t)));
    }
  });

  // Weights and biases. Their zero points are 0, DequantizeLinear's default: none is stored.
  const weightCache = new Map<string, { dequantized: string; scale: string; q: QuantizedWeights }>();
  const weightScales = new Map<string, QuantizedWeights>();
  let biasesQuantized = 0;
  for (const node of graph.nodes) {
    const m = plan.marks.get(node.name);
    if (!m) continue;
    const weightOf = new Map<number, { scale: string; q: QuantizedWeights }>();
    for (const w of m.weights) {
      const name = node.inputs[w.slot]!;
      const key = `${name}|${w.axis}`;
      let entry = weightCache.get(key);
      if (!entry) {
        const k = weightCache.size;
        const tensor = graph.initializers.get(name)!;
        const q = quantizeWeights(toFloat32(tensor), tensor.dims, w.axis, weights.clamp, weights);
        const qName = initializer(`w${k}`, DataType.INT8, [...tensor.dims], q.data);
        const perAxis = w.axis !== undefined;
        const scale = initializer(`ws${k}`, DataType.FLOAT, perAxis ? [q.scales.length] : [], q.scales);
        const dequantized = fresh(`wd${k}`);
        const zero = q.zeroPoints
          ? [initializer(`wz${k}`, DataType.INT8, perAxis ? [q.zeroPoints.length] : [], q.zeroPoints)]
          : [];
        added.push(qdqNode("DequantizeLinear", `${name}:DQ`, [qName, scale, ...zero], dequantized, w.axis));
        entry = { dequantized, scale, q };
        weightCache.set(key, entry);
        weightScales.set(name, q);
      }
      node.inputs[w.slot] = entry.dequantized;
      weightOf.set(w.slot, entry);
    }
    const b = m.bias;
    const input = b ? node.inputs[b.activationSlot] : undefined;
    const inputTensor = input === undefined ? undefined : quantizedSource(input, plan);
    const inParams = inputTensor === undefined ? undefined : params.get(inputTensor);
    const wq = b ? weightOf.get(b.weightSlot) : undefined;
    if (b && inputTensor !== undefined && inParams && wq) {
      const name = node.inputs[b.slot]!;
      const bias = toFloat32(graph.initializers.get(name)!);
      const k = biasesQuantized++;
      const qb = quantizeBias(bias, inParams.scale, wq.q.scales);
      const qName = initializer(`b${k}`, DataType.INT32, [bias.length], qb.data);
      // The bias scale s_in · s_w is computed in the graph from the two scales already stored
      // (ONNX Runtime folds the Mul at load time), instead of storing a third array.
      const inScale = added.find((n) => n.opType === "QuantizeLinear" && n.name === `${inputTensor}:Q`)!.inputs[1]!;
      const scale = fresh(`bs${k}`);
      added.push({
        name: `${name}:scale`,
        opType: "Mul",
        domain: "",
        inputs: [inScale, wq.scale],
        outputs: [scale],
        attributes: new Map(),
      });
      const dequantized = fresh(`bd${k}`);
      added.push(qdqNode("DequantizeLinear", `${name}:DQ`, [qName, scale], dequantized, 0));
      node.inputs[b.slot] = dequantized;
    }
  }
  graph.nodes.push(...added);
  // Float weights nobody reads any more are dropped, so the file really shrinks.
  const used = new Set(graph.nodes.flatMap((n) => n.inputs));
  for (const name of [...graph.initializers.keys()]) if (!used.has(name)) graph.initializers.delete(name);
  graph.inputs = graph.inputs.filter((v) => !graph.initializers.has(v.name) || used.has(v.name));
  graph.sortTopologically();
  if (
    added.some((n) => n.domain === INT16_QDQ_DOMAIN) && !model.opsetImports.some((o) => o.domain === INT16_QDQ_DOMAIN)
  ) {
    model.opsetImports = [...model.opsetImports, { domain: INT16_QDQ_DOMAIN, version: 1 }];
  }
  model.producerName = "int8-toolchain";
  return {
    activationsQuantized: plan.quantized.length,
    weightsQuantized: weightCache.size,
    biasesQuantized,
    weightScales,
  };
}

/**
 * The name consumers read a quantized graph input under (graph inputs keep their own name).
 *
 * @example
 * ```ts
 * import { dequantizedInputName } from "./rewrite.ts";
 * dequantizedInputName("x"); // "x_dequantized"
 * ```
 */
export function dequantizedInputName(input: string): string {
  return `${input}_dequantized`;
}

// The quantized tensor a node input reads: itself, or the graph input behind `<input>_dequantized`.
function quantizedSource(name: string, plan: QuantPlan): string | undefined {
  if (plan.quantized.includes(name) && !plan.graphInputs.has(name)) return name;
  for (const t of plan.graphInputs) if (name === dequantizedInputName(t)) return t;
  return undefined;
}

function nameAllocator(graph: Graph): (base: string) => string {
  const used = new Set<string>(graph.initializers.keys());
  for (const v of [...graph.inputs, ...graph.outputs]) used.add(v.name);
  for (const n of graph.nodes) for (const t of [...n.inputs, ...n.outputs]) used.add(t);
  return (base) => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
}
