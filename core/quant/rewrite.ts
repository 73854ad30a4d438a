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
import { DataType, makeTensor, toFloat32 } from "../onnx/tensor.ts";
import type { QuantParams } from "./params.ts";
import type { QuantPlan } from "./plan.ts";
import { quantizeBias, type QuantizedWeights, quantizeWeights } from "./weights.ts";

/** Weight settings. */
export interface WeightOptions {
  /** Largest weight magnitude, MNN `weight_clamp_value` (default 127). */
  clamp: number;
}

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

function addScale(graph: Graph, base: string, scales: Float32Array, perAxis: boolean): string {
  const name = graph.uniqueName(`${base}_scale`);
  graph.initializers.set(name, makeTensor(name, DataType.FLOAT, perAxis ? [scales.length] : [], scales));
  return name;
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

  // Activations. Symmetric int8 tensors all share one zero-point initializer (0, int8): it
  // fixes QuantizeLinear's output type, and sharing it keeps the file small.
  let sharedInt8Zero: string | undefined;
  const zeroPointFor = (p: QuantParams, t: string): string => {
    if (p.dataType === DataType.INT8 && p.zeroPoint === 0) {
      if (!sharedInt8Zero) {
        sharedInt8Zero = graph.uniqueName("zero_point_int8");
        graph.initializers.set(sharedInt8Zero, makeTensor(sharedInt8Zero, DataType.INT8, [], new Int8Array(1)));
      }
      return sharedInt8Zero;
    }
    const name = graph.uniqueName(`${t}_zero_point`);
    const data = p.dataType === DataType.INT8 ? new Int8Array([p.zeroPoint]) : new Uint8Array([p.zeroPoint]);
    graph.initializers.set(name, makeTensor(name, p.dataType, [], data));
    return name;
  };
  for (const t of plan.quantized) {
    const p = params.get(t);
    if (!p) throw new Error(`No quantization parameters for tensor "${t}"`);
    const scale = addScale(graph, t, new Float32Array([p.scale]), false);
    const zeroPoint = zeroPointFor(p, t);
    const quantized = graph.uniqueName(`${t}_quantized`);
    if (graphInputNames.has(t)) {
      const dequantized = graph.uniqueName(`${t}_dequantized`);
      for (const n of graph.nodes) n.inputs = n.inputs.map((x) => x === t ? dequantized : x);
      added.push(qdqNode("QuantizeLinear", `${t}_QuantizeLinear`, [t, scale, zeroPoint], quantized));
      added.push(qdqNode("DequantizeLinear", `${t}_DequantizeLinear`, [quantized, scale, zeroPoint], dequantized));
    } else {
      const float = graph.uniqueName(`${t}_float`);
      for (const n of graph.nodes) n.outputs = n.outputs.map((x) => x === t ? float : x);
      added.push(qdqNode("QuantizeLinear", `${t}_QuantizeLinear`, [float, scale, zeroPoint], quantized));
      added.push(qdqNode("DequantizeLinear", `${t}_DequantizeLinear`, [quantized, scale, zeroPoint], t));
    }
  }

  // Weights and biases.
  const weightCache = new Map<string, { dequantized: string; q: QuantizedWeights }>();
  const weightScales = new Map<string, QuantizedWeights>();
  let biasesQuantized = 0;
  for (const node of graph.nodes) {
    const m = plan.marks.get(node.name);
    if (!m) continue;
    const weightOf = new Map<number, QuantizedWeights>();
    for (const w of m.weights) {
      const name = node.inputs[w.slot]!;
      const key = `${name}|${w.axis}`;
      let entry = weightCache.get(key);
      if (!entry) {
        const tensor = graph.initializers.get(name)!;
        const q = quantizeWeights(toFloat32(tensor), tensor.dims, w.axis, weights.clamp);
        const qName = graph.uniqueName(`${name}_quantized`);
        graph.initializers.set(qName, makeTensor(qName, DataType.INT8, [...tensor.dims], q.data));
        // Weight and bias zero points are 0, DequantizeLinear's default: none is stored.
        const scale = addScale(graph, name, q.scales, w.axis !== undefined);
        const dequantized = graph.uniqueName(`${name}_dequantized`);
        added.push(qdqNode("DequantizeLinear", `${name}_DequantizeLinear`, [qName, scale], dequantized, w.axis));
        entry = { dequantized, q };
        weightCache.set(key, entry);
        weightScales.set(name, q);
      }
      node.inputs[w.slot] = entry.dequantized;
      weightOf.set(w.slot, entry.q);
    }
    const b = m.bias;
    const input = b ? node.inputs[b.activationSlot] : undefined;
    const inParams = input !== undefined ? params.get(input) ?? paramsOfDequantized(input, plan, params) : undefined;
    const wq = b ? weightOf.get(b.weightSlot) : undefined;
    if (b && inParams && wq) {
      const name = node.inputs[b.slot]!;
      const bias = toFloat32(graph.initializers.get(name)!);
      const qb = quantizeBias(bias, inParams.scale, wq.scales);
      const qName = graph.uniqueName(`${name}_quantized`);
      graph.initializers.set(qName, makeTensor(qName, DataType.INT32, [bias.length], qb.data));
      const scale = addScale(graph, name, qb.scales, true);
      const dequantized = graph.uniqueName(`${name}_dequantized`);
      added.push(qdqNode("DequantizeLinear", `${name}_DequantizeLinear`, [qName, scale], dequantized, 0));
      node.inputs[b.slot] = dequantized;
      biasesQuantized++;
    }
  }
  graph.nodes.push(...added);
  // Float weights nobody reads any more are dropped, so the file really shrinks.
  const used = new Set(graph.nodes.flatMap((n) => n.inputs));
  for (const name of [...graph.initializers.keys()]) if (!used.has(name)) graph.initializers.delete(name);
  graph.inputs = graph.inputs.filter((v) => !graph.initializers.has(v.name) || used.has(v.name));
  graph.sortTopologically();
  model.producerName = "int8-toolchain";
  return {
    activationsQuantized: plan.quantized.length,
    weightsQuantized: weightCache.size,
    biasesQuantized,
    weightScales,
  };
}

// A graph input is renamed to `<name>_dequantized` in its consumers; map back to find its parameters.
function paramsOfDequantized(
  name: string,
  plan: QuantPlan,
  params: ReadonlyMap<string, QuantParams>,
): QuantParams | undefined {
  for (const t of plan.graphInputs) if (name.startsWith(`${t}_dequantized`)) return params.get(t);
  return undefined;
}
