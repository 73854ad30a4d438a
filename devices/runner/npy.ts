/**
 * The .npy files the on-device runner reads and writes (format 1.0, C order, little-endian): encode
 * the host's input tensors, decode the runner's outputs. Pure functions on bytes.
 *
 * @module
 */

/** Element types the runner exchanges, by their .npy descr. */
export const NPY_DTYPES = {
  float32: { descr: "<f4", bytes: 4 },
  int8: { descr: "|i1", bytes: 1 },
  uint8: { descr: "|u1", bytes: 1 },
  int16: { descr: "<i2", bytes: 2 },
  int32: { descr: "<i4", bytes: 4 },
  int64: { descr: "<i8", bytes: 8 },
} as const;

/** An element type name of {@link NPY_DTYPES}. */
export type NpyDType = keyof typeof NPY_DTYPES;

/** Typed array of each dtype. */
export type NpyData = Float32Array | Int8Array | Uint8Array | Int16Array | Int32Array | BigInt64Array;

/** A decoded array. */
export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

function dtypeOf(data: NpyData): NpyDType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Int32Array) return "int32";
  return "int64";
}

/**
 * Encodes an array as .npy bytes (header padded to 64 bytes, like numpy).
 *
 * @example
 * ```ts
 * import { decodeNpy, encodeNpy } from "./npy.ts";
 * const bytes = encodeNpy(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * decodeNpy(bytes).shape; // [2, 2]
 * ```
 */
export function encodeNpy(data: NpyData, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new RangeError(`Cannot encode .npy: shape [${shape}] needs ${count} values, got ${data.length}`);
  }
  const dtype = NPY_DTYPES[dtypeOf(data)];
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '${dtype.descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, " ") + "\n";
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/**
 * Decodes .npy bytes (format 1.0–3.0, C order, a dtype of {@link NPY_DTYPES}); `what` names the
 * file in errors.
 *
 * @example
 * ```ts
 * import { decodeNpy, encodeNpy } from "./npy.ts";
 * decodeNpy(encodeNpy(new Int8Array([-1, 2]), [2])).data; // Int8Array [-1, 2]
 * ```
 */
export function decodeNpy(bytes: Uint8Array, what = "the .npy file"): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error(`Cannot decode ${what}: bad magic`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new Error(`Cannot decode ${what}: .npy version ${major}`);
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start) throw new Error(`Cannot decode ${what}: truncated header`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (start + headerLength > bytes.length) throw new Error(`Cannot decode ${what}: truncated header`);
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr'\s*:\s*'([<|=]?)([a-z]\d+)'/.exec(header);
  const entry = Object.entries(NPY_DTYPES).find(([, d]) => d.descr.slice(1) === descr?.[2]);
  if (!descr || !entry) throw new Error(`Cannot decode ${what}: unsupported dtype in ${header.trim()}`);
  if (!/'fortran_order'\s*:\s*False/.test(header)) throw new Error(`Cannot decode ${what}: not C order`);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!shapeText) throw new Error(`Cannot decode ${what}: no shape`);
  const shape = shapeText[1]!.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new Error(`Cannot decode ${what}: bad shape`);
  const [name, dtype] = entry as [NpyDType, { bytes: number }];
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLength;
  if (bytes.length - offset !== count * dtype.bytes) {
    throw new Error(
      `Cannot decode ${what}: shape [${shape}] needs ${count * dtype.bytes} bytes, has ${bytes.length - offset}`,
    );
  }
  const payload = bytes.slice(offset).buffer; // a copy: aligned for any element size
  const data = name === "float32"
    ? new Float32Array(payload)
    : name === "int8"
    ? new Int8Array(payload)
    : name === "uint8"
    ? new Uint8Array(payload)
    : name === "int16"
    ? new Int16Array(payload)
    : name === "int32"
    ? new Int32Array(payload)
    : new BigInt64Array(payload);
  return { dtype: name, shape, data };
}
