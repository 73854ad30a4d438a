/**
 * Accumulates the tensors and ops of a native program while the compiler lowers a QDQ graph, with the
 * helpers every lowering needs: activation inputs, constant inputs, output tensors with fused
 * activation ranges, and requantizing Luts where two tensors' quantization differ.
 *
 * @module
 */

import type { Node } from "../../core/onnx/ir.ts";
import { clamp, roundHalfAway } from "../../core/sim/fixed_point.ts";
import {
  type DTypeName,
  DTYPES,
  type LutOp,
  type ProgramOp,
  type ProgramTensor,
  type TensorArray,
} from "../../core/sim/program.ts";
import type { Dequantized, QdqGraph, QuantizedActivation } from "./qdq_graph.ts";

/** A float function an element-wise op applies, for Lut tables. */
export type ElementFunction = (x: number) => number;

/** The Q-side of a lowered node: where its float output goes. */
export interface OutputTarget {
  activation: QuantizedActivation;
  /** Fused Relu/Clip between the node and its QuantizeLinear: the float interval it clips to. */
  bounds?: [number, number];
  /** The fused activation node. */
  fusedNode?: Node;
}

/**
 * The 256-entry table of `f` from one quantization to another: values[i] = quantized f(dequantized(i + min)).
 *
 * @example
 * ```ts
 * import { lutValues } from "./builder.ts";
 * const t = { dtype: "int8" as const, scale: [0.5], zeroPoint: [0] };
 * lutValues(t, t, (x) => Math.max(0, x))[128 + 3]; // 3
 * ```
 */
export function lutValues(
  input: Pick<ProgramTensor, "dtype" | "scale" | "zeroPoint">,
  output: Pick<ProgramTensor, "dtype" | "scale" | "zeroPoint">,
  f: ElementFunction,
): Uint8Array {
  const inRange = DTYPES[input.dtype], outRange = DTYPES[output.dtype];
  const sx = input.scale[0]!, zx = input.zeroPoint[0] ?? 0, sy = output.scale[0]!, zy = output.zeroPoint[0] ?? 0;
  const values = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    const y = f((i + inRange.min - zx) * sx);
    const q = Number.isNaN(y) ? zy : clamp(zy + roundHalfAway(clamp(y / sy, -1e9, 1e9)), outRange.min, outRange.max);
    values[i] = q & 0xff;
  }
  return values;
}

/** A node the compiler cannot lower; the compiler lists it with the others. */
export class LoweringError extends Error {
  override name = "LoweringError";
}

/** Program under construction. */
export class ProgramBuilder {
  readonly tensors: ProgramTensor[] = [];
  readonly ops: ProgramOp[] = [];
  /** QuantizeLinear output name → tensor index. */
  private readonly byQ = new Map<string, number>();

  /** `opset`: the model's default-domain opset (ops whose defaults changed need it). */
  constructor(readonly qdq: QdqGraph, readonly batch: number, readonly opset = 13) {}

  /** Adds a tensor; returns its index. */
  addTensor(t: ProgramTensor): number {
    this.tensors.push(t);
    return this.tensors.length - 1;
  }

  /** The tensor index of a quantized activation (created by its producer). */
  activationIndex(a: QuantizedActivation): number | undefined {
    return this.byQ.get(a.q);
  }

  /** Creates the tensor of a quantized activation. */
  defineActivation(a: QuantizedActivation, name: string, shape: number[]): number {
    const existing = this.byQ.get(a.q);
    if (existing !== undefined) throw new Error(`Tensor "${name}" is produced twice`);
    if (a.dtype !== "int8" && a.dtype !== "uint8") {
      throw new LoweringError(`tensor "${name}" is ${a.dtype}; the native runtime runs int8 and uint8 activations`);
    }
    const index = this.addTensor({
      name,
      dtype: a.dtype,
      shape,
      scale: [a.scale],
      zeroPoint: [a.zeroPoint],
      axis: -1,
    });
    this.byQ.set(a.q, index);
    return index;
  }

  /** A fresh activation tensor with the quantization of `like` (for intermediate results). */
  temporary(name: string, like: ProgramTensor, shape: number[]): number {
    return this.addTensor({ name, dtype: like.dtype, shape, scale: like.scale, zeroPoint: like.zeroPoint, axis: -1 });
  }

  /** Adds a constant tensor. */
  constant(
    name: string,
    dtype: DTypeName,
    shape: number[],
    data: TensorArray,
    quant: { scale: number[]; zeroPoint: number[]; axis: number } = { scale: [1], zeroPoint: [0], axis: -1 },
  ): number {
    return this.addTensor({ name, dtype, shape, data, ...quant });
  }

  /** Appends a Lut op from tensor `from` to `to` applying `f` (identity: requantization). */
  lut(name: string, from: number, to: number, f: ElementFunction = (x) => x): void {
    const op: LutOp = {
      kind: "Lut",
      name,
      inputs: [from],
      outputs: [to],
      values: lutValues(this.tensors[from]!, this.tensors[to]!, f),
    };
    this.ops.push(op);
  }

  /** What a node input stands for: an activation tensor, a dequantized constant or a plain constant. */
  input(
    node: Node,
    slot: number,
  ):
    | { kind: "activation"; index: number; tensor: ProgramTensor }
    | Extract<Dequantized, { kind: "constant" }>
    | { kind: "float"; dims: number[]; values: number[] }
    | undefined {
    const name = node.inputs[slot];
    if (!name) return undefined;
    const dq = this.qdq.dequantized.get(name);
    if (dq?.kind === "activation") {
      const index = this.byQ.get(dq.activation.q);
      if (index === undefined) throw new Error(`Node "${node.name}" reads "${name}" before it is computed`);
      return { kind: "activation", index, tensor: this.tensors[index]! };
    }
    if (dq) return dq;
    const c = this.qdq.constants.get(name);
    if (c) return { kind: "float", dims: c.dims, values: c.values };
    throw new Error(`Node "${node.name}" (${node.opType}) reads "${name}", which is neither quantized nor constant`);
  }

  /** An activation input, or an error naming the node. */
  activationInput(node: Node, slot: number): { index: number; tensor: ProgramTensor } {
    const i = this.input(node, slot);
    if (i?.kind !== "activation") {
      throw new Error(`Input ${slot} of node "${node.name}" (${node.opType}) is not a quantized activation`);
    }
    return i;
  }

  /** A constant float input's values (e.g. a Reshape shape), or undefined when the slot is empty. */
  floatConstant(node: Node, slot: number): number[] | undefined {
    const i = this.input(node, slot);
    if (!i) return undefined;
    if (i.kind === "float") return i.values;
    if (i.kind === "constant") {
      return Array.from(i.tensor.data as ArrayLike<number>, (v) => (v - (i.zeroPoints[0] ?? 0)) * i.scales[0]!);
    }
    throw new Error(`Input ${slot} of node "${node.name}" (${node.opType}) must be a constant`);
  }
}
