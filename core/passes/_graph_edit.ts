/**
 * Small graph-editing helpers shared by the passes.
 *
 * @module
 */

import type { Graph, Node } from "../onnx/ir.ts";
import { DataType, makeTensor, type Tensor } from "../onnx/tensor.ts";

/** True when `name` is one of the graph's declared outputs. */
export function isGraphOutput(graph: Graph, name: string): boolean {
  return graph.outputs.some((o) => o.name === name);
}

/** Renames every use and production of tensor `from` to `to` (graph outputs included). */
export function renameTensor(graph: Graph, from: string, to: string): void {
  for (const node of graph.nodes) {
    node.inputs = node.inputs.map((t) => t === from ? to : t);
    node.outputs = node.outputs.map((t) => t === from ? to : t);
  }
  for (const o of graph.outputs) if (o.name === from) o.name = to;
  const info = graph.valueInfo.get(from);
  if (info) {
    graph.valueInfo.delete(from);
    graph.valueInfo.set(to, { ...info, name: to });
  }
}

/**
 * Removes a single-input single-output node `y = f(x)` whose effect is the
 * identity, keeping graph output names stable. Returns false when it cannot
 * (the node connects a graph input straight to a graph output).
 */
export function bypassNode(graph: Graph, node: Node): boolean {
  const x = node.inputs[0];
  const y = node.outputs[0];
  if (x === undefined || y === undefined) return false;
  const xIsSource = graph.initializers.has(x) || graph.inputs.some((v) => v.name === x);
  if (isGraphOutput(graph, y)) {
    if (xIsSource || isGraphOutput(graph, x)) return false;
    graph.nodes = graph.nodes.filter((n) => n !== node);
    renameTensor(graph, x, y);
    return true;
  }
  graph.nodes = graph.nodes.filter((n) => n !== node);
  for (const n of graph.nodes) n.inputs = n.inputs.map((t) => t === y ? x : t);
  graph.valueInfo.delete(y);
  return true;
}

/** Adds an initializer under a fresh name derived from `base`; returns the name used. */
export function addInitializer(graph: Graph, base: string, tensor: Omit<Tensor, "name">): string {
  const name = graph.uniqueName(base);
  graph.initializers.set(name, { ...tensor, name });
  return name;
}

/** Adds an int64 1-D initializer. */
export function addInt64s(graph: Graph, base: string, values: readonly number[]): string {
  const t = makeTensor(base, DataType.INT64, [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
  return addInitializer(graph, base, t);
}

/** Adds a float32 scalar initializer. */
export function addFloatScalar(graph: Graph, base: string, value: number): string {
  return addInitializer(graph, base, makeTensor(base, DataType.FLOAT, [], new Float32Array([value])));
}

/** Removes initializers nothing reads any more. */
export function pruneInitializers(graph: Graph): void {
  const used = new Set<string>();
  for (const n of graph.nodes) for (const t of n.inputs) used.add(t);
  for (const o of graph.outputs) used.add(o.name);
  for (const name of [...graph.initializers.keys()]) {
    if (!used.has(name)) {
      graph.initializers.delete(name);
      graph.inputs = graph.inputs.filter((v) => v.name !== name);
    }
  }
}

/** How many times a tensor is read (node inputs plus graph outputs). */
export function useCount(graph: Graph, name: string): number {
  let n = isGraphOutput(graph, name) ? 1 : 0;
  for (const node of graph.nodes) for (const t of node.inputs) if (t === name) n++;
  return n;
}
