/**
 * Test helpers: build small ONNX graphs in code and compare two models'
 * outputs in real ONNX Runtime.
 *
 * @module
 */

import { Graph, type Model, type Node, type ValueInfo } from "../core/onnx/ir.ts";
import { encodeModel } from "../core/onnx/model.ts";
import { DataType, makeTensor, sizeOf, type Tensor } from "../core/onnx/tensor.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { mulberry32 } from "../core/calib/_test_rng.ts";

/** Deterministic PRNG (mulberry32) for test data. */
export const rng: (seed: number) => () => number = mulberry32;

/** A float tensor of the given shape filled with values in [lo, hi). */
export function randomFloats(name: string, dims: number[], random: () => number, lo = -1, hi = 1): Tensor {
  const n = sizeOf(dims);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * random();
  return makeTensor(name, DataType.FLOAT, dims, data);
}

/** Shorthand for a node. */
export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, number | number[] | string> = {},
  name = outputs[0] + "_node",
): Node {
  const attributes = new Map();
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "string") attributes.set(k, { type: "string", value: v });
    else if (Array.isArray(v)) attributes.set(k, { type: "ints", value: v });
    else if (Number.isInteger(v) && !["epsilon", "alpha", "beta", "min", "max"].includes(k)) {
      attributes.set(k, { type: "int", value: v });
    } else attributes.set(k, { type: "float", value: v });
  }
  return { name, opType, domain: "", inputs, outputs, attributes };
}

/** A float32 value info. */
export function floatInfo(name: string, shape: (number | string)[] | undefined): ValueInfo {
  return { name, elemType: DataType.FLOAT, shape };
}

/** A model from parts. */
export function makeModel(
  nodes: Node[],
  initializers: Tensor[],
  inputs: ValueInfo[],
  outputs: ValueInfo[],
  opset = 13,
): Model {
  return {
    irVersion: opset >= 13 ? 7 : 6,
    opsetImports: [{ domain: "", version: opset }],
    producerName: "test",
    producerVersion: "0",
    graph: new Graph("test", nodes, new Map(initializers.map((t) => [t.name, t])), inputs, outputs, new Map()),
    extra: {},
  };
}

/** Runs a model (IR or bytes) in ONNX Runtime on one feed; returns every graph output. */
export async function runModel(
  model: Model | Uint8Array,
  feeds: Record<string, { data: Float32Array; dims: number[] }>,
  outputs?: string[],
): Promise<Map<string, { data: Float32Array; dims: number[] }>> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  const exec = await createOrtExecutor(bytes, { threads: 1 });
  try {
    const names = outputs ?? (model instanceof Uint8Array ? [] : model.graph.outputs.map((o) => o.name));
    return await exec.run(feeds, names);
  } finally {
    await exec.release();
  }
}

/** Largest absolute difference between two equally long arrays. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Runs both models on the same feeds and returns the largest output difference over all named outputs. */
export async function outputDiff(
  before: Model | Uint8Array,
  after: Model | Uint8Array,
  feeds: Record<string, { data: Float32Array; dims: number[] }>,
  outputs: string[],
): Promise<number> {
  const a = await runModel(before, feeds, outputs);
  const b = await runModel(after, feeds, outputs);
  let m = 0;
  for (const name of outputs) m = Math.max(m, maxAbsDiff(a.get(name)!.data, b.get(name)!.data));
  return m;
}
