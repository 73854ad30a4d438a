/**
 * The native program: the in-memory form of a `.qm` artifact (targets/native/qm.fbs), which the
 * compiler builds, the writer serializes and the interpreter runs. Every number an op needs at run
 * time is an integer here; float scales are metadata for the host (quantizing inputs, reading outputs).
 *
 * @module
 */

/** Element type of a tensor (the schema's `DType`). */
export type DTypeName = "int8" | "uint8" | "int16" | "int32" | "float32";

/** Bytes per element and integer range of each element type, as data. */
export const DTYPES: Readonly<Record<DTypeName, { bytes: number; min: number; max: number }>> = {
  int8: { bytes: 1, min: -128, max: 127 },
  uint8: { bytes: 1, min: 0, max: 255 },
  int16: { bytes: 2, min: -32768, max: 32767 },
  int32: { bytes: 4, min: -2147483648, max: 2147483647 },
  float32: { bytes: 4, min: -Infinity, max: Infinity },
};

/** Typed array holding a tensor's elements. */
export type TensorArray = Int8Array | Uint8Array | Int16Array | Int32Array | Float32Array;

/** One tensor of the program: a constant (with data) or an activation (with an arena place). */
export interface ProgramTensor {
  name: string;
  dtype: DTypeName;
  shape: number[];
  /** One scale per tensor, or one per slice along `axis`. */
  scale: number[];
  zeroPoint: number[];
  /** Quantization axis; -1 for per-tensor. */
  axis: number;
  /** Elements of a constant. */
  data?: TensorArray;
  /** Byte offset in the arena (activations), set by the memory planner. */
  arenaOffset?: number;
}

/** Fields every op has. */
export interface OpBase {
  /** The ONNX node the op comes from. */
  name: string;
  /** Tensor indices. */
  inputs: number[];
  outputs: number[];
}

/** Fixed-point requantization and output clamp shared by the arithmetic ops. */
export interface Activation {
  /** Output range after the fused activation (Relu, Clip), in output integers. */
  actMin: number;
  actMax: number;
}

/** Conv 2-D, NCHW: inputs x, weights [OC, C/group, KH, KW], optional bias; per-channel requantization. */
export interface ConvOp extends OpBase, Activation {
  kind: "Conv";
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** top, left, bottom, right */
  pads: [number, number, number, number];
  group: number;
  multiplier: number[];
  shift: number[];
}

/** x [M, K] × weights [N, K]ᵀ + bias [N]; per-column requantization. */
export interface FullyConnectedOp extends OpBase, Activation {
  kind: "FullyConnected";
  multiplier: number[];
  shift: number[];
}

/** Broadcasting a + b. */
export interface AddOp extends OpBase, Activation {
  kind: "Add";
  multiplierA: number;
  multiplierB: number;
  shift: number;
}

/** Broadcasting a · b. */
export interface MulOp extends OpBase, Activation {
  kind: "Mul";
  multiplier: number;
  shift: number;
}

/** MaxPool 2-D (input and output share quantization). */
export interface MaxPoolOp extends OpBase {
  kind: "MaxPool";
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  pads: [number, number, number, number];
}

/** AveragePool 2-D with one multiplier per window count (1 … kh·kw). */
export interface AveragePoolOp extends OpBase {
  kind: "AveragePool";
  kernel: [number, number];
  strides: [number, number];
  pads: [number, number, number, number];
  countIncludePad: boolean;
  multiplier: number[];
  shift: number[];
}

/** Mean over H, W. */
export interface GlobalAveragePoolOp extends OpBase {
  kind: "GlobalAveragePool";
  multiplier: number;
  shift: number;
}

/** y = values[x − dtype min]: 256 output bytes. */
export interface LutOp extends OpBase {
  kind: "Lut";
  values: Uint8Array;
}

/** Same bytes, new shape. */
export interface ReshapeOp extends OpBase {
  kind: "Reshape";
}

/** Concatenation along `axis` (shared quantization). */
export interface ConcatOp extends OpBase {
  kind: "Concat";
  axis: number;
}

/** Axis permutation. */
export interface TransposeOp extends OpBase {
  kind: "Transpose";
  perm: number[];
}

/** Constant padding with the quantized `value`; pads: begins then ends. */
export interface PadOp extends OpBase {
  kind: "Pad";
  pads: number[];
  value: number;
}

/** Nearest resize of the last two axes through precomputed source indices. */
export interface ResizeOp extends OpBase {
  kind: "Resize";
  yIndex: number[];
  xIndex: number[];
}

/**
 * Softmax over the last axis with a 256-entry exp table of the input-scale differences to the row
 * maximum (the algorithm: core/sim/ops/softmax.ts).
 */
export interface SoftmaxOp extends OpBase {
  kind: "Softmax";
  /** expTable[d] = round_half_away(2^E · exp(−scale_x · d)); 256 entries. */
  expTable: number[];
  /** 2^−30 / scale_y as multiplier / 2^shift. */
  multiplier: number;
  shift: number;
}

/** Any op of the program. */
export type ProgramOp =
  | ConvOp
  | FullyConnectedOp
  | AddOp
  | MulOp
  | MaxPoolOp
  | AveragePoolOp
  | GlobalAveragePoolOp
  | LutOp
  | ReshapeOp
  | ConcatOp
  | TransposeOp
  | PadOp
  | ResizeOp
  | SoftmaxOp;

/** Every op kind, in the schema's union order (union type = index + 1). */
export const OP_KINDS: readonly ProgramOp["kind"][] = [
  "Conv",
  "FullyConnected",
  "Add",
  "Mul",
  "MaxPool",
  "AveragePool",
  "GlobalAveragePool",
  "Lut",
  "Reshape",
  "Concat",
  "Transpose",
  "Pad",
  "Resize",
  "Softmax",
];

/** The artifact format version this code reads and writes. */
export const FORMAT_VERSION = 1;

/** A compiled model. */
export interface Program {
  version: number;
  producer: string;
  target: string;
  tensors: ProgramTensor[];
  /** In execution order. */
  ops: ProgramOp[];
  inputs: number[];
  outputs: number[];
  /** Bytes of the activation arena. */
  arenaSize: number;
}

/**
 * Number of elements of a shape.
 *
 * @example
 * ```ts
 * import { elementCount } from "./program.ts";
 * elementCount([1, 3, 4]); // 12
 * ```
 */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Bytes a tensor occupies.
 *
 * @example
 * ```ts
 * import { tensorBytes } from "./program.ts";
 * tensorBytes({ dtype: "int32", shape: [2, 2] }); // 16
 * ```
 */
export function tensorBytes(t: Pick<ProgramTensor, "dtype" | "shape">): number {
  return elementCount(t.shape) * DTYPES[t.dtype].bytes;
}

/**
 * The values of `count` elements of `dtype` stored little-endian in `bytes`, as a typed array over
 * a copy (so the result is aligned whatever the offset of `bytes`).
 *
 * @example
 * ```ts
 * import { tensorArrayFromBytes } from "./program.ts";
 * [...tensorArrayFromBytes("int8", new Uint8Array([255, 1]), 2)]; // [-1, 1]
 * ```
 */
export function tensorArrayFromBytes(dtype: DTypeName, bytes: Uint8Array, count: number): TensorArray {
  const copy = bytes.slice().buffer;
  switch (dtype) {
    case "int8":
      return new Int8Array(copy, 0, count);
    case "uint8":
      return new Uint8Array(copy, 0, count);
    case "int16":
      return new Int16Array(copy, 0, count);
    case "int32":
      return new Int32Array(copy, 0, count);
    case "float32":
      return new Float32Array(copy, 0, count);
  }
}
