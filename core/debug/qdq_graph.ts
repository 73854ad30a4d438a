/**
 * Reads a QDQ ONNX model back: which tensors are fake-quantized, with what
 * scale and zero point, which float-model tensor each one stands for, and
 * which weights belong to which quantized tensor. Works on our own models
 * (tensor names preserved, see core/quant/rewrite.ts) and on foreign QDQ
 * models such as ONNX Runtime's quantizer writes (names matched where possible).
 *
 * @module
 */

import type { Graph, Model, Node } from "../onnx/ir.ts";
import { DataType, type Tensor, toNumbers } from "../onnx/tensor.ts";
import type { RangeParams } from "../metrics/accumulate.ts";

/** One fake-quantized activation: `input → QuantizeLinear → DequantizeLinear → dequantized`. */
export interface QdqActivation {
  /** The name consumers read: the DequantizeLinear output. */
  dequantized: string;
  /** The float tensor entering QuantizeLinear, in the QDQ model. */
  input: string;
  /** The tensor of the float model this one stands for; undefined when no name matches. */
  floatName: string | undefined;
  quantizeNode: string;
  dequantizeNode: string;
  params: RangeParams;
}

/** One weight or bias stored as integers behind a DequantizeLinear. */
export interface QdqWeight {
  dequantizeNode: string;
  /** The DequantizeLinear output the consumer reads. */
  dequantized: string;
  /** The integer initializer. */
  quantized: string;
  /** The float-model initializer it was made from, when one matches by name and size. */
  floatName: string | undefined;
  /** Index in {@link QdqAnalysis.activations} of the quantized tensor the weighted node produces. */
  owner: number | undefined;
  /** One scale per output channel; undefined for int32 biases (their scale is derived). */
  perChannel: boolean | undefined;
}

/** What was found in a QDQ model. */
export interface QdqAnalysis {
  /** Fake-quantized activations, in graph order. */
  activations: QdqActivation[];
  weights: QdqWeight[];
  /** DequantizeLinear nodes that could not be read, with why. */
  unreadable: { node: string; reason: string }[];
}

/** How to read parameters the file does not fully record. */
export interface AnalyzeOptions {
  /**
   * The float model the QDQ model was made from (prepared), to match names. Without it,
   * `floatName` is the DequantizeLinear output name.
   */
  float?: Model;
  /** Exact parameters by float tensor name (e.g. from the quantization run), preferred over the file. */
  paramsFor?: (floatName: string) => RangeParams | undefined;
  /**
   * Integer range of symmetric int8 tensors (zero point 0): ±clamp. Our models use MNN's
   * ±127 (feature_clamp_value); ONNX Runtime's QuantizeLinear saturates at [-128, 127].
   */
  symmetricClamp?: number;
}

const INT_RANGES: Record<number, [number, number]> = {
  [DataType.INT8]: [-128, 127],
  [DataType.UINT8]: [0, 255],
  [DataType.INT16]: [-32768, 32767],
  [DataType.UINT16]: [0, 65535],
};

function scalarOf(graph: Graph, name: string | undefined): { value: number; dataType: number } | undefined {
  if (!name) return undefined;
  const t = graph.initializers.get(name);
  if (!t) return undefined;
  const values = toNumbers(t);
  if (values.length !== 1) return undefined;
  return { value: values[0]!, dataType: t.dataType };
}

/** Names of every value of a model that a run can return: real inputs and node outputs. */
function tensorNames(model: Model): Set<string> {
  const names = new Set(model.graph.realInputs().map((v) => v.name));
  for (const n of model.graph.nodes) for (const o of n.outputs) if (o) names.add(o);
  return names;
}

/**
 * Finds the fake-quantized activations and the integer weights of a QDQ model.
 *
 * @example
 * ```ts ignore
 * import { analyzeQdqModel } from "./qdq_graph.ts";
 * const analysis = analyzeQdqModel(qdqModel, { float: preparedFloatModel });
 * analysis.activations.map((a) => a.floatName);
 * ```
 */
export function analyzeQdqModel(qdq: Model, options: AnalyzeOptions = {}): QdqAnalysis {
  const graph = qdq.graph;
  const producers = graph.producers();
  const consumers = graph.consumers();
  const floatNames = options.float ? tensorNames(options.float) : undefined;
  const floatInits = options.float?.graph.initializers;
  const activations: QdqActivation[] = [];
  const weights: QdqWeight[] = [];
  const unreadable: { node: string; reason: string }[] = [];
  const activationByQ = new Map<string, number>();

  for (const d of graph.nodes) {
    if (d.opType !== "DequantizeLinear" || (d.domain !== "" && d.domain !== "ai.onnx")) continue;
    const source = d.inputs[0]!;
    const q = producers.get(source);
    if (graph.initializers.has(source)) {
      weights.push(readWeight(graph, d, floatInits));
      continue;
    }
    if (!q || q.opType !== "QuantizeLinear") {
      unreadable.push({ node: d.name, reason: `its input "${source}" does not come from a QuantizeLinear` });
      continue;
    }
    const scale = scalarOf(graph, q.inputs[1]);
    const zero = q.inputs[2] ? scalarOf(graph, q.inputs[2]) : { value: 0, dataType: DataType.UINT8 };
    if (!scale || !zero) {
      unreadable.push({ node: d.name, reason: "its scale or zero point is not a scalar initializer (per-axis?)" });
      continue;
    }
    const range = INT_RANGES[zero.dataType];
    if (!range) {
      unreadable.push({ node: d.name, reason: `zero point of element type ${zero.dataType} is not supported` });
      continue;
    }
    const input = q.inputs[0]!;
    const dequantized = d.outputs[0]!;
    const floatName = !floatNames
      ? dequantized
      : floatNames.has(dequantized)
      ? dequantized
      : floatNames.has(input)
      ? input
      : undefined;
    const clamp = options.symmetricClamp;
    const [qmin, qmax] = clamp !== undefined && zero.dataType === DataType.INT8 && zero.value === 0
      ? [-clamp, clamp]
      : range;
    const params = (floatName !== undefined ? options.paramsFor?.(floatName) : undefined) ??
      { scale: scale.value, zeroPoint: zero.value, qmin, qmax };
    activationByQ.set(q.name, activations.length);
    activations.push({
      dequantized,
      input,
      floatName,
      quantizeNode: q.name,
      dequantizeNode: d.name,
      params,
    });
  }
  for (const w of weights) w.owner = ownerOf(w.dequantized, consumers, activationByQ);
  return { activations, weights, unreadable };
}

function readWeight(graph: Graph, d: Node, floatInits: ReadonlyMap<string, Tensor> | undefined): QdqWeight {
  const quantized = d.inputs[0]!;
  const q = graph.initializers.get(quantized)!;
  const scale = d.inputs[1] ? graph.initializers.get(d.inputs[1]) : undefined;
  // Our rewriter names the node `<float initializer>:DQ`; ONNX Runtime's quantizer names the
  // integer initializer `<float initializer>_quantized`.
  const candidates = [d.name.replace(/:DQ$/, ""), quantized.replace(/_quantized$/, "")];
  const count = q.dims.reduce((a, b) => a * b, 1);
  const floatName = candidates.find((c) => {
    const f = floatInits?.get(c);
    return f !== undefined && f.dataType === DataType.FLOAT && f.dims.reduce((a, b) => a * b, 1) === count;
  });
  return {
    dequantizeNode: d.name,
    dequantized: d.outputs[0]!,
    quantized,
    floatName,
    owner: undefined,
    perChannel: q.dataType === DataType.INT32
      ? undefined
      : scale !== undefined && scale.dims.reduce((a, b) => a * b, 1) > 1,
  };
}

// The quantized tensor a weighted node produces: follow single-consumer, single-output nodes
// (a fused ReLU, say) from its output until a QuantizeLinear reads the value.
function ownerOf(
  dequantized: string,
  consumers: Map<string, Node[]>,
  activationByQ: Map<string, number>,
): number | undefined {
  const users = consumers.get(dequantized) ?? [];
  if (users.length !== 1) return undefined;
  let tensor = users[0]!.outputs[0];
  for (let step = 0; step < 4 && tensor; step++) {
    const next = consumers.get(tensor) ?? [];
    const q = next.find((n) => n.opType === "QuantizeLinear");
    if (q) return activationByQ.get(q.name);
    if (next.length !== 1 || next[0]!.outputs.length !== 1) return undefined;
    tensor = next[0]!.outputs[0];
  }
  return undefined;
}
