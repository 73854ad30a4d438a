/**
 * Decode ONNX bytes into the graph IR and encode the IR back to bytes, with
 * `protobufjs` doing the wire format. Fields the IR does not model are carried
 * through unchanged.
 *
 * @module
 */

import protobuf from "protobufjs";
import { ONNX_PROTO } from "./_schema.ts";
import { type Attribute, type Dim, Graph, type Model, type Node, type ValueInfo } from "./ir.ts";
import { DataType, fromRawBytes, makeTensor, sizeOf, type Tensor, type TensorData, toRawBytes } from "./tensor.ts";

const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
const ModelProto = root.lookupType("onnx.ModelProto");

/** The largest model a single protobuf message can hold. */
export const MAX_MODEL_BYTES = 2 ** 31 - 1;

// deno-lint-ignore no-explicit-any
type Msg = any;

/** Thrown for bytes that are not a usable ONNX model; the message names the source. */
export class OnnxFormatError extends Error {
  override name = "OnnxFormatError";
}

function num(value: unknown): number {
  if (typeof value === "number") return value;
  if (value && typeof value === "object" && "toNumber" in value) return (value as { toNumber(): number }).toNumber();
  if (typeof value === "bigint") return Number(value);
  return Number(value ?? 0);
}

function has(msg: Msg, field: string): boolean {
  return msg != null && Object.prototype.hasOwnProperty.call(msg, field);
}

/** Copies the own fields of a message except the listed ones (those the IR models). */
function rest(msg: Msg, modelled: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(msg)) {
    if (modelled.includes(key)) continue;
    const value = msg[key];
    if (Array.isArray(value) && value.length === 0) continue;
    out[key] = value;
  }
  return out;
}

const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

function decodeTensor(t: Msg, fallbackName: string): Tensor {
  const name: string = t.name || fallbackName;
  const dataType = num(t.data_type);
  const dims = (t.dims ?? []).map(num);
  if (num(t.data_location) === 1) {
    throw new OnnxFormatError(
      `Tensor "${name}" keeps its data in an external file; save the model with its weights inside the .onnx file`,
    );
  }
  if (dataType === DataType.STRING) {
    throw new OnnxFormatError(`Tensor "${name}" holds strings, which are not supported`);
  }
  const count = sizeOf(dims);
  if (count === 0) return makeTensor(name, dataType, dims);
  if (has(t, "raw_data") && t.raw_data.length > 0) {
    return { name, dataType, dims, data: fromRawBytes(t.raw_data, dataType, count, name) };
  }
  const tensor = makeTensor(name, dataType, dims);
  const source: ArrayLike<unknown> = dataType === DataType.FLOAT
    ? t.float_data
    : dataType === DataType.INT64
    ? t.int64_data
    : dataType === DataType.DOUBLE
    ? t.double_data
    : dataType === DataType.UINT32 || dataType === DataType.UINT64
    ? t.uint64_data
    : t.int32_data;
  if (!source || source.length !== count) {
    throw new OnnxFormatError(`Tensor "${name}" has ${source?.length ?? 0} values but shape [${dims}] needs ${count}`);
  }
  const data = tensor.data;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < count; i++) data[i] = BigInt(num(source[i]));
  } else {
    for (let i = 0; i < count; i++) data[i] = num(source[i]);
  }
  return tensor;
}

function encodeTensor(tensor: Tensor): Msg {
  return {
    name: tensor.name,
    data_type: tensor.dataType,
    dims: tensor.dims,
    raw_data: toRawBytes(tensor.data as TensorData),
  };
}

function decodeAttribute(a: Msg, nodeName: string): Attribute {
  let type = num(a.type);
  if (type === 0) {
    // Very old exporters leave `type` unset: infer it from the field present.
    type = has(a, "f")
      ? 1
      : has(a, "i")
      ? 2
      : has(a, "s")
      ? 3
      : has(a, "t")
      ? 4
      : a.floats?.length
      ? 6
      : a.ints?.length
      ? 7
      : a.strings?.length
      ? 8
      : 0;
  }
  switch (type) {
    case 1:
      return { type: "float", value: num(a.f) };
    case 2:
      return { type: "int", value: num(a.i) };
    case 3:
      return { type: "string", value: utf8.decode(a.s ?? new Uint8Array()) };
    case 4:
      return { type: "tensor", value: decodeTensor(a.t, `${nodeName}.${a.name}`) };
    case 6:
      return { type: "floats", value: (a.floats ?? []).map(num) };
    case 7:
      return { type: "ints", value: (a.ints ?? []).map(num) };
    case 8:
      return { type: "strings", value: (a.strings ?? []).map((s: Uint8Array) => utf8.decode(s)) };
    default:
      return { type: "opaque", proto: a };
  }
}

function encodeAttribute(name: string, a: Attribute): Msg {
  switch (a.type) {
    case "float":
      return { name, type: 1, f: a.value };
    case "int":
      return { name, type: 2, i: a.value };
    case "string":
      return { name, type: 3, s: utf8Encoder.encode(a.value) };
    case "tensor":
      return { name, type: 4, t: encodeTensor(a.value) };
    case "floats":
      return { name, type: 6, floats: a.value };
    case "ints":
      return { name, type: 7, ints: a.value };
    case "strings":
      return { name, type: 8, strings: a.value.map((s) => utf8Encoder.encode(s)) };
    case "opaque":
      return a.proto;
  }
}

function decodeValueInfo(v: Msg): ValueInfo {
  const tensorType = v.type?.tensor_type;
  if (!tensorType) return { name: v.name ?? "", elemType: 0, shape: undefined, proto: v };
  const shape: Dim[] | undefined = has(tensorType, "shape")
    ? (tensorType.shape.dim ?? []).map((d: Msg): Dim =>
      has(d, "dim_value") ? num(d.dim_value) : has(d, "dim_param") ? String(d.dim_param) : null
    )
    : undefined;
  return { name: v.name ?? "", elemType: num(tensorType.elem_type), shape };
}

function encodeValueInfo(v: ValueInfo): Msg {
  if (v.proto) return v.proto;
  const tensorType: Msg = { elem_type: v.elemType };
  if (v.shape) {
    tensorType.shape = {
      dim: v.shape.map((d) => typeof d === "number" ? { dim_value: d } : typeof d === "string" ? { dim_param: d } : {}),
    };
  }
  return { name: v.name, type: { tensor_type: tensorType } };
}

const NODE_FIELDS = ["input", "output", "name", "op_type", "domain", "attribute"] as const;
const GRAPH_FIELDS = ["node", "name", "initializer", "input", "output", "value_info"] as const;
const MODEL_FIELDS = ["ir_version", "opset_import", "producer_name", "producer_version", "graph"] as const;

function decodeGraph(g: Msg): Graph {
  const initializers = new Map<string, Tensor>();
  (g.initializer ?? []).forEach((t: Msg, i: number) => {
    const tensor = decodeTensor(t, `initializer_${i}`);
    initializers.set(tensor.name, tensor);
  });
  const nodes: Node[] = (g.node ?? []).map((n: Msg, i: number): Node => {
    const name = n.name || `${n.op_type ?? "node"}_${i}`;
    const attributes = new Map<string, Attribute>();
    for (const a of n.attribute ?? []) attributes.set(a.name, decodeAttribute(a, name));
    const node: Node = {
      name,
      opType: n.op_type ?? "",
      domain: n.domain ?? "",
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attributes,
    };
    const extra = rest(n, NODE_FIELDS);
    if (Object.keys(extra).length > 0) node.extra = extra;
    return node;
  });
  const valueInfo = new Map<string, ValueInfo>();
  for (const v of g.value_info ?? []) valueInfo.set(v.name, decodeValueInfo(v));
  return new Graph(
    g.name ?? "",
    nodes,
    initializers,
    (g.input ?? []).map(decodeValueInfo),
    (g.output ?? []).map(decodeValueInfo),
    valueInfo,
    rest(g, GRAPH_FIELDS),
  );
}

function encodeGraph(graph: Graph): Msg {
  return {
    ...graph.extra,
    name: graph.name,
    node: graph.nodes.map((n) => ({
      ...n.extra,
      name: n.name,
      op_type: n.opType,
      domain: n.domain,
      input: n.inputs,
      output: n.outputs,
      attribute: [...n.attributes].map(([name, a]) => encodeAttribute(name, a)),
    })),
    initializer: [...graph.initializers.values()].map(encodeTensor),
    input: graph.inputs.map(encodeValueInfo),
    output: graph.outputs.map(encodeValueInfo),
    value_info: [...graph.valueInfo.values()].map(encodeValueInfo),
  };
}

/**
 * Decodes ONNX model bytes into the IR. `source` (usually the file path) is
 * named in every error.
 *
 * @example
 * ```ts
 * import { decodeModel, encodeModel } from "./model.ts";
 * import { Graph } from "./ir.ts";
 * const bytes = encodeModel({
 *   irVersion: 8, opsetImports: [{ domain: "", version: 13 }], producerName: "x", producerVersion: "1",
 *   graph: new Graph("g", [], new Map(), [], [], new Map()), extra: {},
 * });
 * decodeModel(bytes, "mem.onnx").irVersion; // 8
 * ```
 */
export function decodeModel(bytes: Uint8Array, source: string): Model {
  if (bytes.byteLength > MAX_MODEL_BYTES) {
    throw new OnnxFormatError(
      `${source} is ${bytes.byteLength} bytes; models of 2 GiB or more (ONNX external data) are out of scope`,
    );
  }
  if (bytes.byteLength === 0) throw new OnnxFormatError(`${source} is empty, not an ONNX model`);
  let proto: Msg;
  try {
    proto = ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxFormatError(
      `${source} is not a valid ONNX model (truncated or not protobuf): ${(e as Error).message}`,
    );
  }
  if (!has(proto, "graph") || !has(proto, "ir_version") || !proto.opset_import?.length) {
    throw new OnnxFormatError(`${source} is not an ONNX model: it has no graph, IR version or opset`);
  }
  let graph: Graph;
  try {
    graph = decodeGraph(proto.graph);
  } catch (e) {
    throw new OnnxFormatError(`${source}: ${(e as Error).message}`);
  }
  return {
    irVersion: num(proto.ir_version),
    opsetImports: proto.opset_import.map((o: Msg) => ({ domain: o.domain ?? "", version: num(o.version) })),
    producerName: proto.producer_name ?? "",
    producerVersion: proto.producer_version ?? "",
    graph,
    extra: rest(proto, MODEL_FIELDS),
  };
}

/**
 * Encodes the IR back to ONNX bytes.
 *
 * @example
 * ```ts
 * import { encodeModel } from "./model.ts";
 * import { Graph } from "./ir.ts";
 * const bytes = encodeModel({
 *   irVersion: 8, opsetImports: [{ domain: "", version: 13 }], producerName: "x", producerVersion: "1",
 *   graph: new Graph("g", [], new Map(), [], [], new Map()), extra: {},
 * });
 * bytes.length > 0; // true
 * ```
 */
export function encodeModel(model: Model): Uint8Array {
  const message = {
    ...model.extra,
    ir_version: model.irVersion,
    opset_import: model.opsetImports,
    producer_name: model.producerName,
    producer_version: model.producerVersion,
    graph: encodeGraph(model.graph),
  };
  return ModelProto.encode(message).finish();
}

/**
 * The default-domain opset version the model imports.
 *
 * @example
 * ```ts
 * import { opsetVersion } from "./model.ts";
 * opsetVersion({ opsetImports: [{ domain: "", version: 13 }] }); // 13
 * ```
 */
export function opsetVersion(model: Pick<Model, "opsetImports">): number {
  return model.opsetImports.find((o) => o.domain === "" || o.domain === "ai.onnx")?.version ?? 0;
}

/**
 * A deep copy of a model (tensors' data copied too), so passes can mutate freely.
 *
 * @example
 * ```ts
 * import { cloneModel, decodeModel, encodeModel } from "./model.ts";
 * import { Graph } from "./ir.ts";
 * const m = decodeModel(encodeModel({
 *   irVersion: 8, opsetImports: [{ domain: "", version: 13 }], producerName: "x", producerVersion: "1",
 *   graph: new Graph("g", [], new Map(), [], [], new Map()), extra: {},
 * }), "m");
 * cloneModel(m).graph !== m.graph; // true
 * ```
 */
export function cloneModel(model: Model): Model {
  return decodeModel(encodeModel(model), "copy");
}
