/**
 * Pass: pair a Conv / Gemm / MatMul / Add with the Relu or constant-bound Clip
 * that alone reads its output, so the quantizer leaves the tensor between them
 * in float (the pair becomes one quantized op: DQ → Conv → Relu → Q). The float
 * graph is not changed; the pairs are returned for the quantizer.
 *
 * @module
 */

import type { Graph, Node } from "../onnx/ir.ts";
import { toNumbers } from "../onnx/tensor.ts";
import { isGraphOutput, useCount } from "./_graph_edit.ts";

/** A producer whose output only an activation reads. */
export interface ActivationFusion {
  /** The Conv/Gemm/MatMul/Add node. */
  readonly producer: string;
  /** The Relu/Clip node. */
  readonly activation: string;
  /** The tensor between them, which stays float. */
  readonly tensor: string;
  /** Float clipping interval the activation applies. */
  readonly bounds: readonly [number, number];
}

const PRODUCERS = new Set(["Conv", "Gemm", "MatMul", "Add"]);

/**
 * Clip bounds from either form: attributes (opset < 11) or constant inputs
 * (opset ≥ 11). `undefined` when a bound is not a constant.
 *
 * @example
 * ```ts
 * import { clipBounds } from "./fuse_activation.ts";
 * import { Graph } from "../onnx/ir.ts";
 * const g = new Graph("g", [], new Map(), [], [], new Map());
 * clipBounds(g, { name: "c", opType: "Clip", domain: "", inputs: ["x"], outputs: ["y"],
 *   attributes: new Map([["min", { type: "float", value: 0 }], ["max", { type: "float", value: 6 }]]) }); // [0, 6]
 * ```
 */
export function clipBounds(graph: Graph, clip: Node): [number, number] | undefined {
  const minAttr = clip.attributes.get("min"), maxAttr = clip.attributes.get("max");
  let lo = minAttr?.type === "float" ? minAttr.value : -Infinity;
  let hi = maxAttr?.type === "float" ? maxAttr.value : Infinity;
  for (const [slot, set] of [[1, (v: number) => lo = v], [2, (v: number) => hi = v]] as const) {
    const name = clip.inputs[slot];
    if (!name) continue;
    const t = graph.initializers.get(name);
    if (!t || t.data.length !== 1) return undefined;
    set(toNumbers(t)[0]!);
  }
  return [lo, hi];
}

/**
 * Finds every producer → activation pair that can run as one quantized op.
 *
 * @example
 * ```ts
 * import { Graph } from "../onnx/ir.ts";
 * import { findActivationFusions } from "./fuse_activation.ts";
 * const g = new Graph("g", [
 *   { name: "conv", opType: "Conv", domain: "", inputs: ["x", "w"], outputs: ["c"], attributes: new Map() },
 *   { name: "relu", opType: "Relu", domain: "", inputs: ["c"], outputs: ["y"], attributes: new Map() },
 * ], new Map(), [], [{ name: "y", elemType: 1, shape: undefined }], new Map());
 * findActivationFusions(g)[0]?.tensor; // "c"
 * ```
 */
export function findActivationFusions(graph: Graph): ActivationFusion[] {
  const producers = graph.producers();
  const fusions: ActivationFusion[] = [];
  for (const act of graph.nodes) {
    if (act.domain !== "" || (act.opType !== "Relu" && act.opType !== "Clip")) continue;
    const tensor = act.inputs[0];
    if (!tensor) continue;
    const producer = producers.get(tensor);
    if (!producer || producer.domain !== "" || !PRODUCERS.has(producer.opType)) continue;
    if (useCount(graph, tensor) !== 1 || isGraphOutput(graph, tensor)) continue;
    const bounds = act.opType === "Relu" ? [0, Infinity] as [number, number] : clipBounds(graph, act);
    if (!bounds) continue;
    fusions.push({ producer: producer.name, activation: act.name, tensor, bounds });
  }
  return fusions;
}
