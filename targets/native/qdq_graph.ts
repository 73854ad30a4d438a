/**
 * Reads a QDQ ONNX graph as the native compiler needs it: constants (initializers plus folded
 * constant arithmetic such as the bias-scale Mul), the quantized activations (QuantizeLinear outputs)
 * and what every DequantizeLinear stands for (an activation, or an integer constant with its scales).
 *
 * @module
 */

import { attrInt, attrInts, type Graph, type Node } from "../../core/onnx/ir.ts";
import { DataType, type Tensor, toNumbers } from "../../core/onnx/tensor.ts";
import type { DTypeName } from "../../core/sim/program.ts";

/** Quantization of a QuantizeLinear output. */
export interface QuantizedActivation {
  /** The QuantizeLinear output name. */
  q: string;
  /** The float tensor it quantizes. */
  float: string;
  dtype: DTypeName;
  scale: number;
  zeroPoint: number;
}

/** What a DequantizeLinear output stands for. */
export type Dequantized =
  | { kind: "activation"; activation: QuantizedActivation }
  | {
    kind: "constant";
    /** The integer initializer. */
    tensor: Tensor;
    scales: number[];
    zeroPoints: number[];
    /** Per-channel axis, -1 per tensor. */
    axis: number;
  };

const DTYPE_OF: Record<number, DTypeName> = {
  [DataType.INT8]: "int8",
  [DataType.UINT8]: "uint8",
  [DataType.INT16]: "int16",
  [DataType.INT32]: "int32",
};

/** The pieces of a QDQ graph. */
export interface QdqGraph {
  graph: Graph;
  /** Constant values by tensor name (initializers and folded nodes), as numbers with dims. */
  constants: Map<string, { dims: number[]; values: number[]; tensor?: Tensor }>;
  /** QuantizeLinear output name → activation. */
  quantized: Map<string, QuantizedActivation>;
  /** DequantizeLinear output name → what it stands for. */
  dequantized: Map<string, Dequantized>;
  /** Nodes consumed by the analysis (Q, DQ, folded constants). */
  consumed: Set<Node>;
  /** Tensor name → the nodes reading it. */
  consumers: Map<string, Node[]>;
}

const FOLDABLE: Record<string, (a: number, b: number) => number> = {
  Mul: (a, b) => Math.fround(a * b),
  Add: (a, b) => Math.fround(a + b),
  Sub: (a, b) => Math.fround(a - b),
  Div: (a, b) => Math.fround(a / b),
};

function foldBinary(
  op: (a: number, b: number) => number,
  a: { dims: number[]; values: number[] },
  b: { dims: number[]; values: number[] },
): { dims: number[]; values: number[] } | undefined {
  if (a.values.length === b.values.length) return { dims: a.dims, values: a.values.map((v, i) => op(v, b.values[i]!)) };
  if (b.values.length === 1) return { dims: a.dims, values: a.values.map((v) => op(v, b.values[0]!)) };
  if (a.values.length === 1) return { dims: b.dims, values: b.values.map((v) => op(a.values[0]!, v)) };
  return undefined;
}

type ConstantValue = { dims: number[]; values: number[] };

const attrIntOf = (node: Node, name: string, fallback: number) => attrInt(node, name, fallback);

/**
 * Folds a node whose inputs are all constants (shape arithmetic: Gather, Concat, Unsqueeze, Squeeze,
 * Cast, Slice, Identity, and element-wise Mul/Add/Sub/Div); undefined when it cannot.
 *
 * @example
 * ```ts
 * import { foldConstant } from "./qdq_graph.ts";
 * const c = new Map([["a", { dims: [2], values: [1, 4] }], ["i", { dims: [], values: [1] }]]);
 * foldConstant({ name: "g", opType: "Gather", domain: "", inputs: ["a", "i"], outputs: ["y"], attributes: new Map() }, c)
 *   ?.values; // [4]
 * ```
 */
export function foldConstant(node: Node, constants: ReadonlyMap<string, ConstantValue>): ConstantValue | undefined {
  if (node.domain !== "" && node.domain !== "ai.onnx") return undefined;
  const inputs = node.inputs.filter((i) => i !== "");
  if (inputs.length === 0 || !inputs.every((i) => constants.has(i))) return undefined;
  const arg = (k: number) => (node.inputs[k] ? constants.get(node.inputs[k]!) : undefined);
  const x = arg(0)!;
  const binary = FOLDABLE[node.opType];
  if (binary && node.inputs.length === 2) return foldBinary(binary, x, arg(1)!);
  switch (node.opType) {
    case "Identity":
    case "Cast":
      return x;
    case "Gather": {
      if (x.dims.length !== 1 || attrIntOf(node, "axis", 0) !== 0) return undefined;
      const idx = arg(1)!;
      const values = idx.values.map((i) => x.values[i < 0 ? i + x.values.length : i]!);
      return { dims: idx.dims, values };
    }
    case "Concat": {
      if (!node.inputs.every((i) => (constants.get(i)?.dims.length ?? 0) <= 1)) return undefined;
      const values = node.inputs.flatMap((i) => constants.get(i)!.values);
      return { dims: [values.length], values };
    }
    case "Unsqueeze":
    case "Squeeze": {
      const axes = arg(1)?.values ?? (node.attributes.has("axes") ? attrInts(node, "axes", []) : []);
      if (node.opType === "Unsqueeze") return { dims: [...x.dims, ...axes.map(() => 1)], values: x.values };
      return { dims: x.dims.filter((d, i) => (axes.length ? !axes.includes(i) : d !== 1)), values: x.values };
    }
    case "Slice": {
      if (x.dims.length !== 1) return undefined;
      const n = x.values.length;
      const norm = (v: number) => Math.min(n, Math.max(0, v < 0 ? v + n : v));
      const start = norm(arg(1)!.values[0]!), end = norm(arg(2)!.values[0]!), step = arg(4)?.values[0] ?? 1;
      if (step !== 1) return undefined;
      const values = x.values.slice(start, end);
      return { dims: [values.length], values };
    }
  }
  return undefined;
}

/**
 * Analyses a QDQ graph (topologically sorted).
 *
 * @example
 * ```ts
 * import { Graph } from "../../core/onnx/ir.ts";
 * import { analyseQdq } from "./qdq_graph.ts";
 * analyseQdq(new Graph("g", [], new Map(), [], [], new Map())).quantized.size; // 0
 * ```
 */
export function analyseQdq(graph: Graph): QdqGraph {
  const constants: QdqGraph["constants"] = new Map();
  for (const [name, t] of graph.initializers) constants.set(name, { dims: t.dims, values: toNumbers(t), tensor: t });
  const consumed = new Set<Node>();
  const quantized = new Map<string, QuantizedActivation>();
  const dequantized = new Map<string, Dequantized>();
  const scalarOf = (name: string | undefined, what: string): number[] => {
    const c = name ? constants.get(name) : undefined;
    if (!c) throw new Error(`${what} "${name}" is not a constant`);
    return c.values;
  };
  for (const node of graph.nodes) {
    if (node.opType !== "QuantizeLinear" && node.opType !== "DequantizeLinear") {
      const folded = foldConstant(node, constants);
      if (folded) {
        constants.set(node.outputs[0]!, folded);
        consumed.add(node);
        continue;
      }
    }
    if (node.opType === "QuantizeLinear") {
      const zpName = node.inputs[2];
      const zp = zpName ? constants.get(zpName) : undefined;
      const dataType = zp?.tensor?.dataType ?? DataType.UINT8;
      const dtype = DTYPE_OF[dataType];
      if (!dtype || dtype === "int32") {
        throw new Error(`QuantizeLinear "${node.name}" makes unsupported type ${dataType}`);
      }
      const scale = scalarOf(node.inputs[1], `Scale of QuantizeLinear "${node.name}"`);
      if (scale.length !== 1) {
        throw new Error(`QuantizeLinear "${node.name}" is per-axis; activations must be per-tensor`);
      }
      quantized.set(node.outputs[0]!, {
        q: node.outputs[0]!,
        float: node.inputs[0]!,
        dtype,
        scale: scale[0]!,
        zeroPoint: zp?.values[0] ?? 0,
      });
      consumed.add(node);
      continue;
    }
    if (node.opType === "DequantizeLinear") {
      const [x, s, z] = node.inputs;
      const activation = quantized.get(x!);
      consumed.add(node);
      if (activation) {
        dequantized.set(node.outputs[0]!, { kind: "activation", activation });
        continue;
      }
      const tensor = constants.get(x!)?.tensor;
      if (!tensor) {
        throw new Error(`DequantizeLinear "${node.name}" reads "${x}", neither a QuantizeLinear nor a constant`);
      }
      const scales = scalarOf(s, `Scale of DequantizeLinear "${node.name}"`);
      const zeroPoints = z ? scalarOf(z, `Zero point of DequantizeLinear "${node.name}"`) : scales.map(() => 0);
      const rawAxis = attrInt(node, "axis", 1);
      const axis = scales.length > 1 ? (rawAxis < 0 ? rawAxis + tensor.dims.length : rawAxis) : -1;
      dequantized.set(node.outputs[0]!, { kind: "constant", tensor, scales, zeroPoints, axis });
      continue;
    }
  }
  return { graph, constants, quantized, dequantized, consumed, consumers: graph.consumers() };
}
