/**
 * Reads a folder of calibration images into float tensors for one image input.
 *
 * Pipeline for each file, in name order:
 * 1. decode: PNG, JPEG, WebP and TIFF through sharp (libvips), applying the EXIF orientation; BMP/DIB and
 *    Netpbm (PBM/PGM/PPM) through the small decoders in `bmp.ts` and `pnm.ts`, since sharp's prebuilt libvips
 *    reads neither. The decoder is chosen by the file's first bytes, not its extension.
 * 2. channels: alpha is removed (not composited: a transparent pixel keeps its colour), then the image is
 *    converted to 1 channel (libvips luminance of linear-light sRGB) or 3 channels (sRGB; gray is replicated).
 *    16-bit images are scaled to 8 bits.
 * 3. size: stretched to exactly the model's width×height (sharp `fit: "fill"`, default lanczos3 kernel), so
 *    the aspect ratio is not kept; `resize: false` instead rejects any image of another size.
 * 4. `pixelsToTensor` from `core/preprocess.ts`: `(pixel / 255 - mean) / std`, NCHW or NHWC.
 *
 * Every problem with the user's files is a {@link DataError} whose message names the file or folder.
 *
 * @module
 */

import { join } from "node:path";
import sharp from "sharp";
import { type ImagePreprocess, pixelsToTensor, type RawImage, resolveNormalization } from "../core/preprocess.ts";
import { decodeBmp, isBmp } from "./bmp.ts";
import { decodePnm, isPnm } from "./pnm.ts";

/**
 * A problem with the user's data files (missing folder, undecodable image, wrong size, corrupt IDX file …).
 * The message is meant to be shown as is and always names the file or folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DataError } from "./images.ts";
 * const e = new DataError("Calibration folder not found: calib/");
 * assert.ok(e instanceof Error);
 * assert.equal(e.name, "DataError");
 * ```
 */
export class DataError extends Error {
  /** Creates the error; `options.cause` keeps the underlying error, if any. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DataError";
  }
}

/**
 * File extensions taken as calibration images (compared case-insensitively).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IMAGE_EXTENSIONS } from "./images.ts";
 * assert.ok(IMAGE_EXTENSIONS.includes(".png"));
 * ```
 */
export const IMAGE_EXTENSIONS: readonly string[] = [
  ".png",
  ".jpg",
  ".jpeg",
  ".jpe",
  ".bmp",
  ".dib",
  ".webp",
  ".pbm",
  ".pgm",
  ".ppm",
  ".tif",
  ".tiff",
];

/**
 * Options for reading one image.
 *
 * @example
 * ```ts
 * import type { ImageReadOptions } from "./images.ts";
 * const strict: ImageReadOptions = { resize: false, inputName: "pixel_values" };
 * ```
 */
export interface ImageReadOptions {
  /** Stretch images to the model's size (default `true`); `false` rejects images of another size. */
  readonly resize?: boolean;
  /** The model input's name, used in size errors. */
  readonly inputName?: string;
}

/**
 * Options for reading a folder of images.
 *
 * @example
 * ```ts
 * import type { ImageFolderOptions } from "./images.ts";
 * const firstHundred: ImageFolderOptions = { limit: 100 };
 * ```
 */
export interface ImageFolderOptions extends ImageReadOptions {
  /** Read at most this many images (the first ones in name order). */
  readonly limit?: number;
}

/**
 * One preprocessed calibration sample.
 *
 * @example
 * ```ts
 * import type { ImageSample } from "./images.ts";
 * const sample: ImageSample = { file: "calib/0001.png", tensor: new Float32Array(3 * 224 * 224) };
 * ```
 */
export interface ImageSample {
  /** Path of the source image. */
  readonly file: string;
  /** One sample laid out as the spec says (`width * height * channels` floats). */
  readonly tensor: Float32Array;
}

/**
 * Lists the image files directly inside `dir` (not in subfolders), as paths joined to `dir`, sorted by name
 * (code-unit order, so the result does not depend on the locale). Hidden files (`.name`) are skipped.
 * Throws a {@link DataError} if the folder is missing, is not a folder, or holds no images.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listImageFiles } from "./images.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(`${dir}/b.PNG`, new Uint8Array());
 * await Deno.writeFile(`${dir}/a.jpg`, new Uint8Array());
 * await Deno.writeFile(`${dir}/notes.txt`, new Uint8Array());
 * assert.deepEqual(await listImageFiles(dir), [`${dir}/a.jpg`, `${dir}/b.PNG`]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function listImageFiles(dir: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new DataError(`Calibration folder not found: ${dir}`, { cause: e });
    throw new DataError(`Cannot open calibration folder ${dir}: ${reason(e)}`, { cause: e });
  }
  if (!info.isDirectory) throw new DataError(`Calibration path is not a folder: ${dir}`);

  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith(".") || !hasImageExtension(entry.name)) continue;
      // Follow symlinks; skip folders that happen to be named like images.
      const isFile = entry.isFile || (entry.isSymlink && (await isFileTarget(join(dir, entry.name))));
      if (isFile) names.push(entry.name);
    }
  } catch (e) {
    throw new DataError(`Cannot read calibration folder ${dir}: ${reason(e)}`, { cause: e });
  }
  if (names.length === 0) {
    throw new DataError(`No calibration images (${IMAGE_EXTENSIONS.join(", ")}) in ${dir}`);
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names.map((name) => join(dir, name));
}

function hasImageExtension(name: string): boolean {
  const dot = name.lastIndexOf(".");
  return dot > 0 && IMAGE_EXTENSIONS.includes(name.slice(dot).toLowerCase());
}

async function isFileTarget(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false; // a dangling link is not an image
  }
}

/**
 * Reads, decodes and preprocesses the images of a folder one at a time, in {@link listImageFiles} order.
 * The spec is checked before any file is read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import sharp from "sharp";
 * import { readImageFolder } from "./images.ts";
 * const dir = await Deno.makeTempDir();
 * const white = { width: 8, height: 6, channels: 3, background: "#ffffff" } as const;
 * await sharp({ create: white }).png().toFile(`${dir}/white.png`);
 * const spec = { width: 4, height: 4, channels: 1, layout: "NCHW", mean: [0.5], std: [0.5] } as const;
 * for await (const { file, tensor } of readImageFolder(dir, spec)) {
 *   assert.ok(file.endsWith("white.png"));
 *   assert.deepEqual(Array.from(tensor), new Array(16).fill(1));
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function* readImageFolder(
  dir: string,
  spec: ImagePreprocess,
  options: ImageFolderOptions = {},
): AsyncGenerator<ImageSample> {
  resolveNormalization(spec);
  const { limit } = options;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) {
    throw new RangeError(`Image limit must be a positive integer, got ${limit}`);
  }
  const files = await listImageFiles(dir);
  for (const file of limit === undefined ? files : files.slice(0, limit)) {
    yield { file, tensor: await readImageFile(file, spec, options) };
  }
}

/**
 * Reads one image file and preprocesses it into a one-sample tensor for `spec`.
 * Throws a {@link DataError} naming the file if it cannot be read or decoded, or (with `resize: false`)
 * has the wrong size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import sharp from "sharp";
 * import { readImageFile } from "./images.ts";
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * await sharp({ create: { width: 2, height: 2, channels: 3, background: "#000000" } }).png().toFile(path);
 * const spec = { width: 2, height: 2, channels: 3, layout: "NHWC", mean: [0], std: [1] } as const;
 * assert.deepEqual(Array.from(await readImageFile(path, spec)), new Array(12).fill(0));
 * await Deno.remove(path);
 * ```
 */
export async function readImageFile(
  path: string,
  spec: ImagePreprocess,
  options: ImageReadOptions = {},
): Promise<Float32Array> {
  resolveNormalization(spec); // a bad spec is the caller's error, not this image's
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new DataError(`Cannot read image ${path}: ${reason(e)}`, { cause: e });
  }
  const image = await decodeImage(bytes, path, spec, options);
  return pixelsToTensor(image, spec);
}

async function decodeImage(
  bytes: Uint8Array,
  path: string,
  spec: ImagePreprocess,
  options: ImageReadOptions,
): Promise<RawImage> {
  let pipeline: sharp.Sharp;
  try {
    if (isBmp(bytes) || isPnm(bytes)) {
      const raw = isBmp(bytes) ? decodeBmp(bytes) : decodePnm(bytes);
      pipeline = sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels as 1 | 3 } });
    } else {
      // sharp's default failOn "warning" already rejects truncated files rather than padding them.
      pipeline = sharp(bytes).autoOrient();
    }
    pipeline = pipeline.removeAlpha().toColourspace(spec.channels === 1 ? "b-w" : "srgb");
    if (options.resize !== false) pipeline = pipeline.resize(spec.width, spec.height, { fit: "fill" });
    const { data, info } = await pipeline.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    if (info.channels !== spec.channels) throw new Error(`decoded to ${info.channels} channels, not ${spec.channels}`);
    const image: RawImage = {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      channels: info.channels,
    };
    if (image.width !== spec.width || image.height !== spec.height) {
      const input = options.inputName === undefined ? "the model input" : `the model input ${options.inputName}`;
      throw new DataError(
        `Image ${path} is ${image.width}×${image.height} but ${input} needs ${spec.width}×${spec.height}`,
      );
    }
    return image;
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`Cannot decode image ${path}: ${reason(e)}`, { cause: e });
  }
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
