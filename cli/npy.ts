/**
 * NumPy `.npy` and `.npz` files as calibration tensors.
 *
 * `.npy` (format versions 1, 2 and 3): the magic `\x93NUMPY`, a version, a
 * header length (uint16 for v1, uint32 for v2/v3), a Python-dict header
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (N, …), }`, then the data.
 * Float, integer and bool dtypes of either byte order are converted to
 * float32; C order only (Fortran order is an error). `.npz` is a zip of
 * `.npy` files, unpacked with fflate.
 *
 * Every problem is a {@link DataError} naming the file; random or cut-off
 * bytes never raise anything else.
 *
 * @module
 */

import { unzipSync } from "fflate";
import { readFloat32LE } from "./binfile.ts";
import { DataError } from "./images.ts";

/**
 * An array read from a `.npy` file (or an `.npz` member), converted to float32.
 *
 * @example
 * ```ts
 * import type { NpyArray } from "./npy.ts";
 * const a: NpyArray = { dims: [2], data: new Float32Array([1, 2]), dtype: "<f4" };
 * ```
 */
export interface NpyArray {
  readonly dims: readonly number[];
  readonly data: Float32Array;
  /** The file's dtype string, e.g. `<f4`, `|u1`. */
  readonly dtype: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * Whether the bytes start with the `.npy` magic.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isNpy } from "./npy.ts";
 * assert.ok(isNpy(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0])));
 * ```
 */
export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Whether the bytes start like a zip archive (`PK\x03\x04`, or `PK\x05\x06` when empty).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isZip } from "./npy.ts";
 * assert.ok(isZip(new Uint8Array([0x50, 0x4b, 3, 4])));
 * ```
 */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b &&
    ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

type Reader = (view: DataView, offset: number, little: boolean) => number;
const READERS: Record<string, { size: number; read: Reader }> = {
  f2: { size: 2, read: (v, o, le) => halfToFloat(v.getUint16(o, le)) },
  f4: { size: 4, read: (v, o, le) => v.getFloat32(o, le) },
  f8: { size: 8, read: (v, o, le) => v.getFloat64(o, le) },
  i1: { size: 1, read: (v, o) => v.getInt8(o) },
  u1: { size: 1, read: (v, o) => v.getUint8(o) },
  b1: { size: 1, read: (v, o) => v.getUint8(o) === 0 ? 0 : 1 },
  i2: { size: 2, read: (v, o, le) => v.getInt16(o, le) },
  u2: { size: 2, read: (v, o, le) => v.getUint16(o, le) },
  i4: { size: 4, read: (v, o, le) => v.getInt32(o, le) },
  u4: { size: 4, read: (v, o, le) => v.getUint32(o, le) },
  i8: { size: 8, read: (v, o, le) => Number(v.getBigInt64(o, le)) },
  u8: { size: 8, read: (v, o, le) => Number(v.getBigUint64(o, le)) },
};

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/**
 * Parses a `.npy` file from its bytes; `source` names the file in errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy, parseNpy } from "./npy.ts";
 * const bytes = encodeNpy([2, 3], new Float32Array([0, 1, 2, 3, 4, 5]));
 * const a = parseNpy(bytes, "x.npy");
 * assert.deepEqual(a.dims, [2, 3]);
 * assert.equal(a.data[5], 5);
 * assert.throws(() => parseNpy(bytes.subarray(0, bytes.length - 1), "x.npy"), /x\.npy is truncated/);
 * ```
 */
export function parseNpy(bytes: Uint8Array, source: string): NpyArray {
  if (!isNpy(bytes)) throw new DataError(`${source} is not a .npy file (no \\x93NUMPY magic)`);
  if (bytes.length < 10) throw new DataError(`${source} is truncated inside its .npy header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  let headerLength: number;
  let start: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new DataError(`${source} is truncated inside its .npy header`);
    headerLength = view.getUint32(8, true);
    start = 12;
  } else {
    throw new DataError(`${source}: .npy format version ${major}.${bytes[7]} is not supported (1, 2 or 3)`);
  }
  if (start + headerLength > bytes.length) throw new DataError(`${source} is truncated inside its .npy header`);
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(start, start + headerLength),
  );
  const { descr, fortran, dims } = parseHeader(header, source);
  if (fortran) {
    throw new DataError(`${source} is stored in Fortran order; save it in C order (np.ascontiguousarray)`);
  }
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  const reader = m ? READERS[m[2]! + m[3]!] : undefined;
  if (!m || !reader) {
    throw new DataError(`${source} has dtype '${descr}'; expected a float, integer or bool dtype`);
  }
  const little = m[1] !== ">";
  const count = dims.reduce((a, b) => a * b, 1);
  const offset = start + headerLength;
  const needed = count * reader.size;
  const have = bytes.length - offset;
  if (needed > have) {
    throw new DataError(
      `${source} is truncated: shape (${dims.join(", ")}) of ${descr} needs ${needed} bytes, has ${have}`,
    );
  }
  if (needed < have) throw new DataError(`${source} has ${have - needed} bytes past its data`);
  if (descr === "<f4" || descr === "=f4") return { dims, data: readFloat32LE(bytes, offset, count), dtype: descr };
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = reader.read(view, offset + i * reader.size, little);
  return { dims, data, dtype: descr };
}

function parseHeader(header: string, source: string): { descr: string; fortran: boolean; dims: number[] } {
  const bad = (what: string): never => {
    throw new DataError(`${source}: .npy header ${what}: ${JSON.stringify(header.trim().slice(0, 120))}`);
  };
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  if (descr === undefined) bad("has no 'descr'");
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  if (fortran === undefined) bad("has no 'fortran_order'");
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shape === undefined) bad("has no 'shape'");
  const dims = shape!.split(",").map((s) => s.trim()).filter((s) => s !== "").map((s) => Number(s.replace(/L$/, "")));
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) bad("has a bad 'shape'");
  return { descr: descr!, fortran: fortran === "True", dims };
}

/**
 * Encodes float32 data as a version 1.0 `.npy` file (`<f4`, C order).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNpy } from "./npy.ts";
 * const bytes = encodeNpy([1], new Float32Array([7]));
 * assert.equal((bytes.length - 4) % 64, 0); // header padded to 64 bytes
 * ```
 */
export function encodeNpy(dims: readonly number[], data: Float32Array): Uint8Array {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(", ")})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + data.length * 4);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  for (let i = 0; i < data.length; i++) view.setFloat32(10 + header.length + i * 4, data[i]!, true);
  return out;
}

/**
 * Parses a `.npz` archive: every member `name.npy` as an array named `name`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { zipSync } from "fflate";
 * import { encodeNpy, parseNpz } from "./npy.ts";
 * const zip = zipSync({ "image.npy": encodeNpy([1, 2], new Float32Array([1, 2])) });
 * assert.deepEqual([...parseNpz(zip, "d.npz").keys()], ["image"]);
 * assert.throws(() => parseNpz(zip.subarray(0, 30), "d.npz"), /d\.npz/);
 * ```
 */
export function parseNpz(bytes: Uint8Array, source: string): Map<string, NpyArray> {
  if (!isZip(bytes)) throw new DataError(`${source} is not a .npz file (not a zip archive)`);
  // A member may not claim more than deflate can expand the archive to (bounds memory on forged headers).
  const limit = Math.min(2 ** 31 - 1, bytes.length * 1032);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: (f) => {
        if (f.originalSize > limit) throw new Error(`member ${f.name} claims ${f.originalSize} bytes`);
        return true;
      },
    });
  } catch (e) {
    throw new DataError(`${source} is not a valid .npz (zip) archive: ${e instanceof Error ? e.message : String(e)}`);
  }
  const arrays = new Map<string, NpyArray>();
  for (const [name, data] of Object.entries(files)) {
    if (!name.endsWith(".npy")) continue;
    arrays.set(name.slice(0, -4), parseNpy(data, `${source}:${name}`));
  }
  if (arrays.size === 0) throw new DataError(`${source} holds no .npy arrays`);
  return arrays;
}
