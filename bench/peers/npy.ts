/**
 * NumPy `.npy` files of float32, C order: how the side-by-side bench hands the
 * same preprocessed tensors to the Python peers and reads their outputs back.
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 *
 * @module
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** A float32 array with its shape. */
export interface NpyArray {
  /** Elements in C (row-major) order. */
  data: Float32Array;
  /** Dimensions, outermost first. */
  shape: number[];
}

/**
 * Encodes a float32 array as a version 1.0 `.npy` file (little-endian `<f4`, C order).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeNpy, encodeNpy } from "./npy.ts";
 * const bytes = encodeNpy({ data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
 * assert.deepEqual(decodeNpy(bytes, "a.npy").shape, [2, 3]);
 * ```
 */
export function encodeNpy(array: NpyArray): Uint8Array {
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (count !== array.data.length) {
    throw new Error(
      `Cannot encode .npy: shape [${array.shape.join(", ")}] needs ${count} values, got ${array.data.length}`,
    );
  }
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(", ")})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  // Magic (6) + version (2) + header length (2) + header, padded with spaces and ended by \n to a multiple of 64.
  const unpadded = 10 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + array.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const body = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  if (isLittleEndian()) out.set(body, 10 + header.length);
  else {
    const view = new DataView(out.buffer, 10 + header.length);
    array.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  }
  return out;
}

/**
 * Decodes a `.npy` file holding float32 (`<f4`) in C order; `source` names the file in errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeNpy, encodeNpy } from "./npy.ts";
 * const { data, shape } = decodeNpy(encodeNpy({ data: new Float32Array([0.5, -2]), shape: [2] }), "b.npy");
 * assert.deepEqual([Array.from(data), shape], [[0.5, -2], [2]]);
 * ```
 */
export function decodeNpy(bytes: Uint8Array, source: string): NpyArray {
  const fail = (why: string) => new Error(`Cannot read ${source} as .npy: ${why}`);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw fail("no \\x93NUMPY magic");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const [lengthBytes, headerLength] = major === 1 ? [2, view.getUint16(8, true)] : [4, view.getUint32(8, true)];
  const start = 8 + lengthBytes;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  if (descr !== "<f4") throw fail(`dtype ${descr ?? "?"} is not little-endian float32 (<f4)`);
  if (/'fortran_order':\s*True/.test(header)) throw fail("Fortran order is not supported");
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw fail("header has no shape");
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLength;
  if (bytes.length - offset !== count * 4) {
    throw fail(`shape (${shape.join(", ")}) needs ${count * 4} data bytes, the file has ${bytes.length - offset}`);
  }
  const data = new Float32Array(count);
  const body = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 4);
  for (let i = 0; i < count; i++) data[i] = body.getFloat32(i * 4, true);
  return { data, shape };
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}
