/**
 * The no-training quantizer's BINARY calibration files (seed 004), read and
 * written exactly as that seed lays them out, little-endian:
 *
 * | offset     | type      | value                                                      |
 * | ---------- | --------- | ---------------------------------------------------------- |
 * | 0          | int32     | magic: 610 (any rank) or 510 (4-D N, C, H, W)              |
 * | 4          | int32     | 610: rank R, then R int32 dims; 510: N, C, H, W (4 int32)  |
 * | 8 + 4R / 20| float32[] | the data, row-major, as many values as the dims multiply to |
 *
 * The first dimension counts samples. Every problem is a {@link DataError}
 * naming the file; random or cut-off bytes never raise anything else.
 *
 * @module
 */

import { DataError } from "./images.ts";

/**
 * The two magic numbers: 610 for any rank, 510 for N, C, H, W.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BIN_MAGIC } from "./binfile.ts";
 * assert.equal(BIN_MAGIC.anyRank, 610);
 * ```
 */
export const BIN_MAGIC = { anyRank: 610, nchw: 510 } as const;

/** Highest rank a 610 file may declare (a sanity bound so garbage headers fail fast). */
const MAX_RANK = 16;

/**
 * A parsed BINARY file.
 *
 * @example
 * ```ts
 * import type { BinTensor } from "./binfile.ts";
 * const t: BinTensor = { magic: 610, dims: [2, 3], data: new Float32Array(6) };
 * ```
 */
export interface BinTensor {
  readonly magic: 610 | 510;
  /** Dimensions, samples first (510: N, C, H, W). */
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/**
 * Reads `count` little-endian float32 values from `bytes` at `offset` into a new array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readFloat32LE } from "./binfile.ts";
 * const b = new Uint8Array(new Float32Array([1.5, -2]).buffer);
 * assert.deepEqual(Array.from(readFloat32LE(b, 0, 2)), [1.5, -2]);
 * ```
 */
export function readFloat32LE(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + count * 4));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 4);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Parses a 610 or 510 file from its bytes; `source` names the file in errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBinFile, parseBinFile } from "./binfile.ts";
 * const bytes = encodeBinFile(610, [2, 2], new Float32Array([1, 2, 3, 4]));
 * assert.deepEqual(parseBinFile(bytes, "a.bin").dims, [2, 2]);
 * assert.throws(() => parseBinFile(bytes.subarray(0, 20), "a.bin"), /a\.bin is truncated/);
 * ```
 */
export function parseBinFile(bytes: Uint8Array, source: string): BinTensor {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8) {
    throw new DataError(`${source} is ${bytes.length} bytes, too short for a BINARY header (magic 610 or 510)`);
  }
  const magic = view.getInt32(0, true);
  let dims: number[];
  let offset: number;
  if (magic === BIN_MAGIC.anyRank) {
    const rank = view.getInt32(4, true);
    if (rank < 1 || rank > MAX_RANK) {
      throw new DataError(`${source}: 610 header declares rank ${rank}; expected 1 to ${MAX_RANK}`);
    }
    offset = 8 + 4 * rank;
    if (bytes.length < offset) {
      throw new DataError(`${source} is truncated: the 610 header of rank ${rank} needs ${offset} bytes`);
    }
    dims = Array.from({ length: rank }, (_, i) => view.getInt32(8 + 4 * i, true));
  } else if (magic === BIN_MAGIC.nchw) {
    offset = 20;
    if (bytes.length < offset) throw new DataError(`${source} is truncated: the 510 header needs 20 bytes`);
    dims = [0, 1, 2, 3].map((i) => view.getInt32(4 + 4 * i, true));
  } else {
    throw new DataError(
      `${source} has magic number ${magic}, not 610 or 510: not a BINARY calibration file (or not little-endian)`,
    );
  }
  if (dims.some((d) => d < 1)) {
    throw new DataError(`${source}: dimensions [${dims.join(", ")}] must all be positive`);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const available = (bytes.length - offset) / 4;
  if (count > available) {
    throw new DataError(
      `${source} is truncated: dims [${dims.join(", ")}] need ${count} float32 values, the file holds ${
        Math.floor(available)
      }`,
    );
  }
  if (count < available) {
    throw new DataError(
      `${source} has ${bytes.length - offset - count * 4} bytes past the ${count} float32 values of dims [${
        dims.join(", ")
      }]`,
    );
  }
  return { magic, dims, data: readFloat32LE(bytes, offset, count) };
}

/**
 * Encodes a BINARY file: 610 with any rank, or 510 with 4-D N, C, H, W dims.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBinFile } from "./binfile.ts";
 * const bytes = encodeBinFile(510, [1, 1, 1, 2], new Float32Array([0.5, 1]));
 * assert.equal(bytes.length, 20 + 8);
 * assert.equal(new DataView(bytes.buffer).getInt32(0, true), 510);
 * ```
 */
export function encodeBinFile(magic: 610 | 510, dims: readonly number[], data: Float32Array): Uint8Array {
  if (magic === 510 && dims.length !== 4) {
    throw new Error(`A 510 file holds 4-D data (N, C, H, W), got ${dims.length}-D`);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`dims [${dims.join(", ")}] need ${count} values, got ${data.length}`);
  const header = magic === 610 ? [610, dims.length, ...dims] : [510, ...dims];
  const out = new Uint8Array(header.length * 4 + data.length * 4);
  const view = new DataView(out.buffer);
  header.forEach((v, i) => view.setInt32(i * 4, v, true));
  const off = header.length * 4;
  for (let i = 0; i < data.length; i++) view.setFloat32(off + i * 4, data[i]!, true);
  return out;
}
