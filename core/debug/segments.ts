/**
 * Cutting a model into consecutive segments, so a sensitivity variant can
 * start from cached activations at the cut before the layer it changes
 * instead of recomputing the whole prefix. A cut is a position in the
 * topological order; the tensors crossing it (its live set) become the next
 * segment's inputs.
 *
 * @module
 */

import { Graph, type Model, type ValueInfo } from "../onnx/ir.ts";
import { DataType, type Tensor } from "../onnx/tensor.ts";
import { inferElementTypes } from "../onnx/types.ts";

/**
 * Tensors computable from initializers and the `free` inputs alone (e.g. a
 * switch read with Gather, a bias scale Mul): a segment recomputes them
 * instead of taking them as inputs.
 *
 * @example
 * ```ts
 * import { Graph } from "../onnx/ir.ts";
 * import { constantDerived } from "./segments.ts";
 * const g = new Graph("g", [
 *   { name: "n", opType: "Neg", domain: "", inputs: ["w"], outputs: ["v"], attributes: new Map() },
 * ], new Map([["w", { name: "w", dataType: 1, dims: [1], data: new Float32Array(1) }]]), [], [], new Map());
 * constantDerived(g, []).has("v"); // true
 * ```
 */
export function constantDerived(graph: Graph, free: readonly string[]): Set<string> {
  const set = new Set<string>([...graph.initializers.keys(), ...free, ""]);
  for (const n of graph.nodes) {
    if (n.inputs.every((i) => set.has(i))) { for (const o of n.outputs) set.add(o); }
  }
  return set;
}

/**
 * The live set at every position 0..nodes.length of a topologically sorted
 * graph: non-constant tensors produced before the position (graph inputs
 * included) that a node at or after it reads, or that are graph outputs.
 *
 * @example
 * ```ts
 * import { Graph } from "../onnx/ir.ts";
 * import { liveSets } from "./segments.ts";
 * const g = new Graph("g", [
 *   { name: "a", opType: "Neg", domain: "", inputs: ["x"], outputs: ["y"], attributes: new Map() },
 * ], new Map(), [{ name: "x", elemType: 1, shape: [1] }], [{ name: "y", elemType: 1, shape: [1] }], new Map());
 * liveSets(g, []).map((s) => [...s]); // [["x"], ["y"]]
 * ```
 */
export function liveSets(graph: Graph, free: readonly string[]): string[][] {
  const constant = constantDerived(graph, free);
  const nodes = graph.nodes;
  const lastUse = new Map<string, number>();
  nodes.forEach((n, i) => n.inputs.forEach((t) => lastUse.set(t, i)));
  for (const o of graph.outputs) lastUse.set(o.name, Infinity);
  const live = new Set<string>();
  const add = (t: string, at: number) => {
    if (!constant.has(t) && (lastUse.get(t) ?? -1) >= at) live.add(t);
  };
  for (const v of graph.realInputs()) add(v.name, 0);
  const sets: string[][] = [];
  for (let p = 0; p <= nodes.length; p++) {
    for (const t of [...live]) if ((lastUse.get(t) ?? -1) < p) live.delete(t);
    sets.push([...live]);
    if (p < nodes.length) { for (const o of nodes[p]!.outputs) add(o, p + 1); }
  }
  return sets;
}

/**
 * The part of `model` that computes `outputs` from `inputs` (and initializers
 * and the `free` graph inputs, which stay inputs): a backward slice. Only the
 * inputs it reads become graph inputs. Throws naming the tensor when
 * `outputs` need a value that is neither.
 *
 * @example
 * ```ts
 * import { Graph } from "../onnx/ir.ts";
 * import { extractSubModel } from "./segments.ts";
 * const nodes = [
 *   { name: "a", opType: "Neg", domain: "", inputs: ["x"], outputs: ["h"], attributes: new Map() },
 *   { name: "b", opType: "Neg", domain: "", inputs: ["h"], outputs: ["y"], attributes: new Map() },
 * ];
 * const model = { irVersion: 8, opsetImports: [{ domain: "", version: 13 }], producerName: "", producerVersion: "",
 *   extra: {}, graph: new Graph("g", nodes, new Map(), [{ name: "x", elemType: 1, shape: [1] }],
 *   [{ name: "y", elemType: 1, shape: [1] }], new Map()) };
 * extractSubModel(model, ["h"], ["y"]).graph.nodes.map((n) => n.name); // ["b"]
 * ```
 */
export function extractSubModel(
  model: Model,
  inputs: readonly string[],
  outputs: readonly string[],
  free: readonly string[] = [],
): Model {
  const graph = model.graph;
  const producers = graph.producers();
  const stop = new Set(inputs);
  const freeSet = new Set(free);
  const keep = new Set<number>();
  const index = new Map(graph.nodes.map((n, i) => [n, i]));
  const usedFree = new Set<string>();
  const usedInputs = new Set<string>();
  const pending = [...outputs];
  const seen = new Set<string>();
  while (pending.length > 0) {
    const t = pending.pop()!;
    if (seen.has(t) || t === "" || graph.initializers.has(t)) continue;
    seen.add(t);
    if (stop.has(t)) {
      usedInputs.add(t);
      continue;
    }
    if (freeSet.has(t)) {
      usedFree.add(t);
      continue;
    }
    const p = producers.get(t);
    if (!p) throw new Error(`Segment needs "${t}", which is neither one of its inputs nor computed from them`);
    const i = index.get(p)!;
    if (keep.has(i)) continue;
    keep.add(i);
    pending.push(...p.inputs);
  }
  const nodes = graph.nodes.filter((_, i) => keep.has(i));
  const initializers = new Map<string, Tensor>();
  for (const n of nodes) {
    for (const t of n.inputs) {
      const init = graph.initializers.get(t);
      if (init) initializers.set(t, init);
    }
  }
  const info = (name: string): ValueInfo => {
    const declared = graph.inputs.find((v) => v.name === name);
    return declared && freeSet.has(name) ? declared : { name, elemType: DataType.FLOAT, shape: undefined };
  };
  const sub = new Graph(
    `${graph.name}_segment`,
    nodes,
    initializers,
    [...inputs.filter((t) => usedInputs.has(t)).map(info), ...[...usedFree].map(info)],
    outputs.map((name) => ({ name, elemType: DataType.FLOAT, shape: undefined })),
    new Map(),
  );
  return { ...model, graph: sub };
}

/** One segment's boundary: its live tensors at the start and the new ones it hands on. */
export interface Cut {
  /** Position in the node order. */
  position: number;
  /** Tensors crossing the cut. */
  live: string[];
}

/**
 * Chooses up to `count - 1` cut positions in a topologically sorted graph,
 * at the allowed positions whose cumulative `cost` is nearest to equal
 * shares. A position is allowed when every tensor crossing it is float and
 * passes `isPublic` (has a counterpart in the other models being cut).
 * Returns the cuts including position 0 and the end.
 *
 * @example
 * ```ts
 * import { Graph } from "../onnx/ir.ts";
 * import { chooseCuts } from "./segments.ts";
 * const g = new Graph("g", [
 *   { name: "a", opType: "Neg", domain: "", inputs: ["x"], outputs: ["h"], attributes: new Map() },
 *   { name: "b", opType: "Neg", domain: "", inputs: ["h"], outputs: ["y"], attributes: new Map() },
 * ], new Map(), [{ name: "x", elemType: 1, shape: [1] }], [{ name: "y", elemType: 1, shape: [1] }], new Map());
 * chooseCuts(g, [], 2, () => 1, () => true).map((c) => c.position); // [0, 1, 2]
 * ```
 */
export function chooseCuts(
  graph: Graph,
  free: readonly string[],
  count: number,
  cost: (nodeIndex: number) => number,
  isPublic: (tensor: string) => boolean,
): Cut[] {
  const sets = liveSets(graph, free);
  const types = inferElementTypes(graph);
  const n = graph.nodes.length;
  const cumulative = [0];
  for (let i = 0; i < n; i++) cumulative.push(cumulative[i]! + cost(i));
  const total = cumulative[n]!;
  const allowed: number[] = [];
  for (let p = 1; p < n; p++) {
    const live = sets[p]!;
    if (live.length > 0 && live.every((t) => isPublic(t) && (types.get(t) ?? DataType.FLOAT) === DataType.FLOAT)) {
      allowed.push(p);
    }
  }
  const cuts: Cut[] = [{ position: 0, live: sets[0]! }];
  let last = 0;
  for (let i = 1; i < count && total > 0; i++) {
    const target = total * i / count;
    let best: number | undefined;
    for (const p of allowed) {
      if (p <= last) continue;
      if (best === undefined || Math.abs(cumulative[p]! - target) < Math.abs(cumulative[best]! - target)) best = p;
    }
    if (best === undefined) break;
    // Positions past the next target are left for later cuts.
    if (cumulative[best]! >= total * (i + 1) / count) continue;
    cuts.push({ position: best, live: sets[best]! });
    last = best;
  }
  cuts.push({ position: n, live: sets[n]! });
  return cuts;
}
