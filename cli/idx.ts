/**
 * Reads the IDX files of MNIST and Fashion-MNIST, gzipped or not.
 *
 * An IDX file is a 4-byte magic number `0x0000 TT DD` (TT = element type, 0x08 for unsigned bytes;
 * DD = number of dimensions), DD big-endian uint32 sizes, then the elements row-major.
 * Images are `0x00000803` (count × rows × cols), labels `0x00000801` (count).
 * Format: http://yann.lecun.com/exdb/mnist/ ("FILE FORMATS FOR THE MNIST DATABASE").
 *
 * Every problem is a {@link DataError} naming the file; random or cut-off bytes never cause another exception.
 *
 * @module
 */

import { gunzipSync } from "node:zlib";
import type { RawImage } from "../core/preprocess.ts";
import { DataError } from "./images.ts";

const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;

/**
 * The images of one IDX file: `count` grayscale images of `rows × cols`, one byte per pixel, row-major.
 *
 * @example
 * ```ts
 * import type { IdxImages } from "./idx.ts";
 * const two: IdxImages = { count: 2, rows: 1, cols: 2, pixels: new Uint8Array([0, 255, 255, 0]) };
 * ```
 */
export interface IdxImages {
  /** Number of images. */
  readonly count: number;
  /** Image height. */
  readonly rows: number;
  /** Image width. */
  readonly cols: number;
  /** `count * rows * cols` bytes, image after image. */
  readonly pixels: Uint8Array;
}

/**
 * Parses an IDX image file (`0x00000803`) from its bytes; gzip is detected and undone.
 * `source` names the file in errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIdxImages } from "./idx.ts";
 * const bytes = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 7, 9]);
 * assert.deepEqual(parseIdxImages(bytes, "tiny"), { count: 1, rows: 1, cols: 2, pixels: new Uint8Array([7, 9]) });
 * ```
 */
export function parseIdxImages(bytes: Uint8Array, source: string): IdxImages {
  const { dims, data } = parseIdx(bytes, source, IMAGES_MAGIC);
  const [count, rows, cols] = dims as [number, number, number];
  return { count, rows, cols, pixels: data };
}

/**
 * Parses an IDX label file (`0x00000801`) from its bytes; gzip is detected and undone.
 * `source` names the file in errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIdxLabels } from "./idx.ts";
 * const bytes = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 4, 0, 9]);
 * assert.deepEqual(parseIdxLabels(bytes, "tiny"), new Uint8Array([4, 0, 9]));
 * ```
 */
export function parseIdxLabels(bytes: Uint8Array, source: string): Uint8Array {
  return parseIdx(bytes, source, LABELS_MAGIC).data;
}

/**
 * Reads an IDX image file such as `t10k-images-idx3-ubyte.gz`.
 *
 * @example
 * ```ts ignore
 * import { readIdxImages } from "./idx.ts";
 * const images = await readIdxImages("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
 * console.log(images.count, images.rows, images.cols); // 10000 28 28
 * ```
 */
export async function readIdxImages(path: string): Promise<IdxImages> {
  return parseIdxImages(await readFile(path), path);
}

/**
 * Reads an IDX label file such as `t10k-labels-idx1-ubyte.gz`.
 *
 * @example
 * ```ts ignore
 * import { readIdxLabels } from "./idx.ts";
 * const labels = await readIdxLabels("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
 * console.log(labels.length); // 10000
 * ```
 */
export async function readIdxLabels(path: string): Promise<Uint8Array> {
  return parseIdxLabels(await readFile(path), path);
}

/**
 * Image `index` of an IDX image set as a 1-channel {@link RawImage} (a view, not a copy),
 * ready for `pixelsToTensor` with a 1-channel spec of the same size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { idxImage } from "./idx.ts";
 * const images = { count: 2, rows: 1, cols: 2, pixels: new Uint8Array([0, 255, 255, 0]) };
 * assert.deepEqual(Array.from(idxImage(images, 1).data), [255, 0]);
 * ```
 */
export function idxImage(images: IdxImages, index: number): RawImage {
  if (!Number.isInteger(index) || index < 0 || index >= images.count) {
    throw new RangeError(`Image index ${index} is out of range 0..${images.count - 1}`);
  }
  const size = images.rows * images.cols;
  return {
    data: images.pixels.subarray(index * size, (index + 1) * size),
    width: images.cols,
    height: images.rows,
    channels: 1,
  };
}

async function readFile(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new DataError(`IDX file not found: ${path}`, { cause: e });
    throw new DataError(`Cannot read IDX file ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

function parseIdx(input: Uint8Array, source: string, magic: number): { dims: number[]; data: Uint8Array } {
  const fail = (why: string) => new DataError(`Cannot read IDX file ${source}: ${why}`);
  let bytes = input;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = new Uint8Array(gunzipSync(bytes));
    } catch (e) {
      throw fail(`broken gzip data (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  const kind = magic === IMAGES_MAGIC ? "an image" : "a label";
  if (bytes.length < 4) throw fail(`truncated: ${bytes.length} bytes is shorter than the 4-byte magic number`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0);
  if (found !== magic) {
    const hint = found === IMAGES_MAGIC
      ? " (this is an IDX image file)"
      : found === LABELS_MAGIC
      ? " (this is an IDX label file)"
      : (found & 0xffff0000) === 0 && bytes[2] !== 0x08
      ? ` (element type 0x${bytes[2]!.toString(16).padStart(2, "0")} is not unsigned byte)`
      : "";
    throw fail(`magic number is ${hex(found)}, not ${hex(magic)} for ${kind} file${hint}`);
  }
  const rank = magic & 0xff;
  const headerSize = 4 + 4 * rank;
  if (bytes.length < headerSize) {
    throw fail(`truncated: header needs ${headerSize} bytes but the file has ${bytes.length}`);
  }
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const expected = dims.reduce((a, b) => a * b, 1);
  const available = bytes.length - headerSize;
  if (available < expected) {
    throw fail(`truncated: sizes ${dims.join("×")} need ${expected} data bytes but the file has ${available}`);
  }
  if (available > expected) {
    throw fail(`${available - expected} unexpected bytes after the ${dims.join("×")} data`);
  }
  return { dims, data: bytes.subarray(headerSize) };
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}
