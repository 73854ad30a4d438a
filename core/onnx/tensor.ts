/**
 * Constant tensors (initializers, Constant values) as typed arrays, and the
 * ONNX element-type table.
 *
 * @module
 */

/** ONNX `TensorProto.DataType` codes used by this toolchain. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;

/** A numeric ONNX element-type code. */
export type DataTypeCode = number;

/** The typed array that holds each element type. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A constant tensor held in memory. */
export interface Tensor {
  /** Tensor name in the graph. */
  name: string;
  /** ONNX element type code (see {@link DataType}). */
  dataType: DataTypeCode;
  /** Dimensions; `[]` for a scalar. */
  dims: number[];
  /** Elements in row-major order. */
  data: TensorData;
}

interface ElementInfo {
  readonly name: string;
  readonly bytes: number;
  readonly make: (buffer: ArrayBuffer, byteOffset: number, length: number) => TensorData;
}

// One row per element type, as data rather than branches (onnx reference evaluator style).
const ELEMENTS: Record<number, ElementInfo> = {
  [DataType.FLOAT]: { name: "float32", bytes: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  [DataType.UINT8]: { name: "uint8", bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  [DataType.INT8]: { name: "int8", bytes: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  [DataType.UINT16]: { name: "uint16", bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  [DataType.INT16]: { name: "int16", bytes: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  [DataType.INT32]: { name: "int32", bytes: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  [DataType.INT64]: { name: "int64", bytes: 8, make: (b, o, n) => new BigInt64Array(b, o, n) },
  [DataType.BOOL]: { name: "bool", bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  [DataType.FLOAT16]: { name: "float16", bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  [DataType.DOUBLE]: { name: "float64", bytes: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  [DataType.UINT32]: { name: "uint32", bytes: 4, make: (b, o, n) => new Uint32Array(b, o, n) },
  [DataType.UINT64]: { name: "uint64", bytes: 8, make: (b, o, n) => new BigUint64Array(b, o, n) },
};

/**
 * The element table entry for an ONNX type code, or an error naming the tensor.
 *
 * @example
 * ```ts
 * import { DataType, elementInfo } from "./tensor.ts";
 * elementInfo(DataType.INT8, "w").bytes; // 1
 * ```
 */
export function elementInfo(dataType: DataTypeCode, tensorName: string): ElementInfo {
  const info = ELEMENTS[dataType];
  if (!info) throw new Error(`Tensor "${tensorName}" has unsupported element type ${dataType}`);
  return info;
}

/**
 * Human-readable name of an ONNX element type (`float32`, `int8`, …).
 *
 * @example
 * ```ts
 * import { DataType, dataTypeName } from "./tensor.ts";
 * dataTypeName(DataType.FLOAT); // "float32"
 * ```
 */
export function dataTypeName(dataType: DataTypeCode): string {
  return ELEMENTS[dataType]?.name ?? `type#${dataType}`;
}

/**
 * Number of elements of a shape.
 *
 * @example
 * ```ts
 * import { sizeOf } from "./tensor.ts";
 * sizeOf([2, 3, 4]); // 24
 * ```
 */
export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/**
 * Allocates a zero-filled tensor of the given type and shape.
 *
 * @example
 * ```ts
 * import { DataType, makeTensor } from "./tensor.ts";
 * makeTensor("zp", DataType.INT8, [4]).data.length; // 4
 * ```
 */
export function makeTensor(name: string, dataType: DataTypeCode, dims: number[], data?: TensorData): Tensor {
  const info = elementInfo(dataType, name);
  const n = sizeOf(dims);
  if (data && data.length !== n) {
    throw new Error(`Tensor "${name}" has ${data.length} elements but shape [${dims}] needs ${n}`);
  }
  return { name, dataType, dims, data: data ?? info.make(new ArrayBuffer(n * info.bytes), 0, n) };
}

/**
 * Copies little-endian raw bytes into a fresh, aligned typed array of the element type.
 *
 * @example
 * ```ts
 * import { DataType, fromRawBytes } from "./tensor.ts";
 * fromRawBytes(new Uint8Array([0, 0, 128, 63]), DataType.FLOAT, 1, "one")[0]; // 1
 * ```
 */
export function fromRawBytes(raw: Uint8Array, dataType: DataTypeCode, count: number, tensorName: string): TensorData {
  const info = elementInfo(dataType, tensorName);
  if (raw.byteLength !== count * info.bytes) {
    throw new Error(
      `Tensor "${tensorName}" has ${raw.byteLength} bytes of raw data but its shape needs ${count * info.bytes}`,
    );
  }
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  return info.make(copy.buffer, 0, count);
}

/**
 * The tensor's elements as little-endian bytes (a view where possible).
 *
 * @example
 * ```ts
 * import { toRawBytes } from "./tensor.ts";
 * toRawBytes(new Float32Array([1])).length; // 4
 * ```
 */
export function toRawBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Reads any numeric tensor as float64 numbers (int64 via Number()).
 *
 * @example
 * ```ts
 * import { DataType, makeTensor, toNumbers } from "./tensor.ts";
 * toNumbers(makeTensor("s", DataType.INT64, [1], new BigInt64Array([3n]))); // [3]
 * ```
 */
export function toNumbers(tensor: Tensor): number[] {
  const out = new Array<number>(tensor.data.length);
  for (let i = 0; i < tensor.data.length; i++) out[i] = Number(tensor.data[i]);
  return out;
}

/**
 * A float32 copy of a numeric tensor's elements.
 *
 * @example
 * ```ts
 * import { DataType, makeTensor, toFloat32 } from "./tensor.ts";
 * toFloat32(makeTensor("a", DataType.INT32, [2], new Int32Array([1, 2]))); // Float32Array [1, 2]
 * ```
 */
export function toFloat32(tensor: Tensor): Float32Array {
  if (tensor.data instanceof Float32Array) return tensor.data;
  if (tensor.dataType === DataType.FLOAT16) {
    throw new Error(`Tensor "${tensor.name}" is float16; convert the model to float32 first`);
  }
  return Float32Array.from(toNumbers(tensor));
}
