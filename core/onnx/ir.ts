/**
 * An in-memory graph IR over an ONNX model: nodes with typed attributes,
 * initializers as typed arrays, value infos with shapes, and producer /
 * consumer indexes. Passes mutate it; `encodeModel` writes it back.
 *
 * @module
 */

import type { Tensor } from "./tensor.ts";

/** One node attribute, decoded into a plain value. */
export type Attribute =
  | { readonly type: "float"; readonly value: number }
  | { readonly type: "int"; readonly value: number }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "floats"; readonly value: number[] }
  | { readonly type: "ints"; readonly value: number[] }
  | { readonly type: "strings"; readonly value: string[] }
  | { readonly type: "tensor"; readonly value: Tensor }
  /** Graphs and other kinds this toolchain does not inspect, kept as decoded protobuf. */
  | { readonly type: "opaque"; readonly proto: unknown };

/** A graph node. Empty input names denote omitted optional inputs. */
export interface Node {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, Attribute>;
  /** Fields this IR does not model (doc_string, metadata), carried through unchanged. */
  extra?: Record<string, unknown>;
}

/** A dimension: a number when fixed, a symbol name when dynamic, `null` when unknown. */
export type Dim = number | string | null;

/** Type and shape information of a graph value. */
export interface ValueInfo {
  name: string;
  /** ONNX element type code; 0 when unknown or not a tensor. */
  elemType: number;
  /** Shape, or `undefined` when the rank is unknown. */
  shape: Dim[] | undefined;
  /** Original protobuf for non-tensor types, written back unchanged. */
  proto?: unknown;
}

/** A model: graph plus the model-level fields. */
export interface Model {
  irVersion: number;
  opsetImports: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  graph: Graph;
  /** ModelProto fields this IR does not model, carried through unchanged. */
  extra: Record<string, unknown>;
}

/** A computation graph. */
export class Graph {
  name: string;
  nodes: Node[];
  initializers: Map<string, Tensor>;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  valueInfo: Map<string, ValueInfo>;
  /** GraphProto fields this IR does not model, carried through unchanged. */
  extra: Record<string, unknown>;

  /**
   * Creates a graph from its parts.
   *
   * @example
   * ```ts
   * import { Graph } from "./ir.ts";
   * const g = new Graph("g", [], new Map(), [], [], new Map());
   * g.nodes.length; // 0
   * ```
   */
  constructor(
    name: string,
    nodes: Node[],
    initializers: Map<string, Tensor>,
    inputs: ValueInfo[],
    outputs: ValueInfo[],
    valueInfo: Map<string, ValueInfo>,
    extra: Record<string, unknown> = {},
  ) {
    this.name = name;
    this.nodes = nodes;
    this.initializers = initializers;
    this.inputs = inputs;
    this.outputs = outputs;
    this.valueInfo = valueInfo;
    this.extra = extra;
  }

  /**
   * Map from tensor name to the node producing it.
   *
   * @example
   * ```ts
   * import { Graph } from "./ir.ts";
   * new Graph("g", [], new Map(), [], [], new Map()).producers().size; // 0
   * ```
   */
  producers(): Map<string, Node> {
    const map = new Map<string, Node>();
    for (const node of this.nodes) for (const out of node.outputs) if (out) map.set(out, node);
    return map;
  }

  /**
   * Map from tensor name to the nodes reading it (a node appears once per use).
   *
   * @example
   * ```ts
   * import { Graph } from "./ir.ts";
   * new Graph("g", [], new Map(), [], [], new Map()).consumers().size; // 0
   * ```
   */
  consumers(): Map<string, Node[]> {
    const map = new Map<string, Node[]>();
    for (const node of this.nodes) {
      for (const input of node.inputs) {
        if (!input) continue;
        const list = map.get(input);
        if (list) list.push(node);
        else map.set(input, [node]);
      }
    }
    return map;
  }

  /** Names of graph inputs that are real inputs (not initializers, as old exporters list both). */
  realInputs(): ValueInfo[] {
    return this.inputs.filter((v) => !this.initializers.has(v.name));
  }

  /**
   * Reorders `nodes` topologically (stable: keeps the original order where it is
   * already valid). Throws on a cycle or on an input nobody produces.
   *
   * @example
   * ```ts
   * import { Graph } from "./ir.ts";
   * const g = new Graph("g", [], new Map(), [], [], new Map());
   * g.sortTopologically();
   * ```
   */
  sortTopologically(): void {
    const available = new Set<string>([...this.initializers.keys(), ...this.inputs.map((v) => v.name), ""]);
    const producers = this.producers();
    const pending = new Map<Node, number>();
    const waiting = new Map<string, Node[]>();
    const ready: Node[] = [];
    for (const node of this.nodes) {
      let missing = 0;
      for (const input of new Set(node.inputs)) {
        if (available.has(input)) continue;
        if (!producers.has(input)) {
          throw new Error(`Node "${node.name}" (${node.opType}) reads "${input}", which no node or input produces`);
        }
        missing++;
        const list = waiting.get(input);
        if (list) list.push(node);
        else waiting.set(input, [node]);
      }
      pending.set(node, missing);
      if (missing === 0) ready.push(node);
    }
    const order = new Map<Node, number>(this.nodes.map((n, i) => [n, i]));
    const sorted: Node[] = [];
    // A small binary heap on original position keeps the sort stable.
    const heap = new MinHeap<Node>((a, b) => order.get(a)! - order.get(b)!);
    for (const n of ready) heap.push(n);
    while (heap.size > 0) {
      const node = heap.pop()!;
      sorted.push(node);
      for (const out of node.outputs) {
        for (const next of waiting.get(out) ?? []) {
          const left = pending.get(next)! - 1;
          pending.set(next, left);
          if (left === 0) heap.push(next);
        }
        waiting.delete(out);
      }
    }
    if (sorted.length !== this.nodes.length) {
      const stuck = this.nodes.find((n) => !sorted.includes(n))!;
      throw new Error(`Graph "${this.name}" has a cycle through node "${stuck.name}" (${stuck.opType})`);
    }
    this.nodes = sorted;
  }

  /**
   * A tensor name not used anywhere in the graph, derived from `base`.
   *
   * @example
   * ```ts
   * import { Graph } from "./ir.ts";
   * new Graph("g", [], new Map(), [], [], new Map()).uniqueName("x"); // "x"
   * ```
   */
  uniqueName(base: string): string {
    const used = this.usedNames();
    if (!used.has(base)) return base;
    for (let i = 1;; i++) {
      const candidate = `${base}_${i}`;
      if (!used.has(candidate)) return candidate;
    }
  }

  private usedNames(): Set<string> {
    const used = new Set<string>(this.initializers.keys());
    for (const v of this.inputs) used.add(v.name);
    for (const v of this.outputs) used.add(v.name);
    for (const node of this.nodes) {
      used.add(node.name);
      for (const t of node.inputs) used.add(t);
      for (const t of node.outputs) used.add(t);
    }
    return used;
  }

  /** Known shape of a value (input, output, value_info or initializer), if any. */
  shapeOf(name: string): Dim[] | undefined {
    const init = this.initializers.get(name);
    if (init) return init.dims;
    return this.valueInfo.get(name)?.shape ?? this.inputs.find((v) => v.name === name)?.shape ??
      this.outputs.find((v) => v.name === name)?.shape;
  }
}

/**
 * Reads an attribute as a number, with a default.
 *
 * @example
 * ```ts
 * import { attrInt } from "./ir.ts";
 * attrInt({ attributes: new Map() }, "group", 1); // 1
 * ```
 */
export function attrInt(node: Pick<Node, "attributes">, name: string, fallback: number): number {
  const a = node.attributes.get(name);
  if (!a) return fallback;
  if (a.type === "int" || a.type === "float") return a.value;
  throw new Error(`Attribute "${name}" is ${a.type}, expected int`);
}

/**
 * Reads an attribute as a float, with a default.
 *
 * @example
 * ```ts
 * import { attrFloat } from "./ir.ts";
 * attrFloat({ attributes: new Map([["alpha", { type: "float", value: 0.2 }]]) }, "alpha", 1); // 0.2
 * ```
 */
export function attrFloat(node: Pick<Node, "attributes">, name: string, fallback: number): number {
  return attrInt(node, name, fallback);
}

/**
 * Reads an attribute as a list of numbers, with a default.
 *
 * @example
 * ```ts
 * import { attrInts } from "./ir.ts";
 * attrInts({ attributes: new Map([["pads", { type: "ints", value: [1, 1, 1, 1] }]]) }, "pads", []); // [1, 1, 1, 1]
 * ```
 */
export function attrInts(node: Pick<Node, "attributes">, name: string, fallback: number[]): number[] {
  const a = node.attributes.get(name);
  if (!a) return fallback;
  if (a.type === "ints" || a.type === "floats") return a.value;
  throw new Error(`Attribute "${name}" is ${a.type}, expected ints`);
}

class MinHeap<T> {
  private items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}
  get size(): number {
    return this.items.length;
  }
  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
