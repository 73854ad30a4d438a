/**
 * Per-input calibration samples (no batch axis) from the files a config
 * points at: image folders and ImageList.txt files, BINARY 610/510 files,
 * `.npy` / `.npz` arrays and MNN "sequence" text files.
 *
 * @module
 */

import { dirname, isAbsolute, join } from "node:path";
import type { HostTensor } from "../../core/exec/executor.ts";
import type { ImageLayout } from "../../core/preprocess.ts";
import { type ImagePipeline, ImageStepError, runImagePipeline } from "../../core/config/image_steps.ts";
import { parseBinFile } from "../binfile.ts";
import { DataError, listImageFiles } from "../images.ts";
import { isNpy, isZip, type NpyArray, parseNpy, parseNpz } from "../npy.ts";
import { decodeImageRgba } from "./decode.ts";

/**
 * The samples of one input, readable in any order.
 *
 * @example
 * ```ts
 * import type { SampleSource } from "./samples.ts";
 * const ones: SampleSource = {
 *   description: "ones",
 *   count: 2,
 *   sampleDims: [4],
 *   read: () => Promise.resolve({ data: new Float32Array(4).fill(1), dims: [4] }),
 * };
 * ```
 */
export interface SampleSource {
  /** What the samples are, for messages and the report. */
  readonly description: string;
  readonly count: number;
  /** Dims of every sample, when known before reading (tensor files). */
  readonly sampleDims: readonly number[] | undefined;
  /** Sample `i`, without the batch axis. */
  read(i: number): Promise<HostTensor>;
  /** Image files, in sample order (image sources only). */
  readonly files?: readonly string[];
}

/**
 * The image files of a folder (the 24 extensions of seed 004, any case) or of a list file (one path per line;
 * relative paths are relative to the list's folder; empty lines and `#` comments skipped; a trailing integer
 * label after whitespace is ignored). Missing listed files are errors naming the list and line.
 *
 * @example
 * ```ts ignore
 * const files = await imageFiles("calib/ImageList.txt");
 * ```
 */
export async function imageFiles(path: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    throw new DataError(`Calibration images not found: ${path} (a folder or an ImageList.txt)`);
  }
  if (info.isDirectory) return await listImageFiles(path);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new DataError(`Cannot read image list ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (text.includes("\0")) throw new DataError(`${path} is neither a folder nor an image list (a text file)`);
  const files: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const labelled = /^(.*\S)\s+-?\d+$/.exec(line);
    const resolve = (p: string) => isAbsolute(p) ? p : join(dirname(path), p);
    if (labelled && !(await isFile(resolve(line)))) line = labelled[1]!;
    const file = resolve(line);
    if (!(await isFile(file))) throw new DataError(`${path} line ${i + 1}: image not found: ${file}`);
    files.push(file);
  }
  if (files.length === 0) throw new DataError(`Image list ${path} names no images`);
  return files;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Images decoded and preprocessed for one input: each sample is `[C, H, W]` (NCHW) or `[H, W, C]` (NHWC).
 *
 * @example
 * ```ts ignore
 * const source = imageSource(files, pipeline, { width: 16, height: 16, channels: 3 }, "NCHW");
 * const first = await source.read(0);
 * ```
 */
export function imageSource(
  files: readonly string[],
  pipeline: ImagePipeline,
  size: { width: number; height: number; channels: number },
  layout: ImageLayout,
): SampleSource {
  const dims = layout === "NCHW" ? [size.channels, size.height, size.width] : [size.height, size.width, size.channels];
  return {
    description: `${files.length} images`,
    count: files.length,
    sampleDims: dims,
    files,
    async read(i) {
      const file = files[i]!;
      const image = await decodeImageRgba(file);
      try {
        return { data: runImagePipeline(image, pipeline, size, layout), dims: [...dims] };
      } catch (e) {
        if (e instanceof ImageStepError) throw new DataError(`Image ${file} ${e.message}`);
        throw e;
      }
    },
  };
}

/** Reads a file fully; a missing file is a DataError naming it. */
async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new DataError(`${what} not found: ${path}`);
    throw new DataError(`Cannot read ${what} ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * A tensor file: BINARY 610/510, `.npy` or `.npz` (told apart by their first bytes), its first axis counting
 * samples. A 510 file holds N, C, H, W: with `layout` NHWC each sample is transposed to H, W, C (seed 004's rule);
 * 610 and NumPy data are used as they are. `key` picks an `.npz` member (default: `inputName`, or the only one).
 *
 * @example
 * ```ts ignore
 * const source = await tensorFileSource("calib/image.bin", "image", "NCHW");
 * ```
 */
export async function tensorFileSource(
  path: string,
  inputName: string,
  layout: ImageLayout,
  key?: string,
): Promise<SampleSource> {
  const bytes = await readBytes(path, "Calibration data file");
  let array: { dims: readonly number[]; data: Float32Array };
  let kind: string;
  let transpose = false;
  if (isNpy(bytes)) {
    array = parseNpy(bytes, path);
    kind = ".npy";
  } else if (isZip(bytes)) {
    const arrays = parseNpz(bytes, path);
    const name = key ?? (arrays.has(inputName) ? inputName : arrays.size === 1 ? [...arrays.keys()][0]! : undefined);
    const chosen: NpyArray | undefined = name === undefined ? undefined : arrays.get(name);
    if (!chosen) {
      throw new DataError(
        `${path} has no array ${key ? `"${key}"` : `named after input "${inputName}"`} (it holds ${
          [...arrays.keys()].join(", ")
        })`,
      );
    }
    array = chosen;
    kind = `.npz "${name}"`;
  } else {
    const bin = parseBinFile(bytes, path);
    array = bin;
    kind = `BINARY ${bin.magic}`;
    transpose = bin.magic === 510 && layout === "NHWC";
  }
  if (array.dims.length < 1 || array.dims[0] === 0) {
    throw new DataError(`${path} holds no samples (shape [${array.dims.join(", ")}]; the first axis counts samples)`);
  }
  const [count, ...rest] = array.dims as number[];
  const sampleDims = transpose ? [rest[1]!, rest[2]!, rest[0]!] : rest;
  const size = rest.reduce((a, b) => a * b, 1);
  return {
    description: `${path} (${kind}, ${count} samples of [${sampleDims.join(", ")}])`,
    count: count!,
    sampleDims,
    read(i) {
      const slice = array.data.subarray(i * size, (i + 1) * size);
      if (!transpose) return Promise.resolve({ data: slice.slice(), dims: [...sampleDims] });
      const [c, h, w] = rest as [number, number, number];
      const out = new Float32Array(size);
      for (let ch = 0; ch < c; ch++) {
        for (let p = 0; p < h * w; p++) out[p * c + ch] = slice[ch * h * w + p]!;
      }
      return Promise.resolve({ data: out, dims: [...sampleDims] });
    },
  };
}

/**
 * Parses one MNN "sequence" text file: one line per channel, whitespace-separated numbers, every line as long.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSequenceText } from "./samples.ts";
 * const t = parseSequenceText("1 2 3\n4 5 6\n", "s.txt", "NCHW");
 * assert.deepEqual(t.dims, [2, 3]);
 * assert.deepEqual(Array.from(parseSequenceText("1 2 3\n4 5 6\n", "s.txt", "NHWC").data), [1, 4, 2, 5, 3, 6]);
 * ```
 */
export function parseSequenceText(
  text: string,
  file: string,
  layout: ImageLayout,
): { data: Float32Array; dims: number[] } {
  const rows: number[][] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const parts = line.trim().split(/\s+/).filter((s) => s !== "");
    if (parts.length === 0) return;
    const values = parts.map(Number);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new DataError(`${file} line ${i + 1}: "${parts[bad]}" is not a number`);
    if (rows.length > 0 && values.length !== rows[0]!.length) {
      throw new DataError(`${file} line ${i + 1}: ${values.length} values, but line 1 has ${rows[0]!.length}`);
    }
    rows.push(values);
  });
  if (rows.length === 0) throw new DataError(`${file} holds no numbers`);
  const c = rows.length;
  const l = rows[0]!.length;
  const data = new Float32Array(c * l);
  for (let ch = 0; ch < c; ch++) {
    for (let k = 0; k < l; k++) data[layout === "NCHW" ? ch * l + k : k * c + ch] = rows[ch]![k]!;
  }
  return { data, dims: layout === "NCHW" ? [c, l] : [l, c] };
}

/**
 * MNN "sequence" input: the `.txt` files of a folder, in name order, each one sample.
 *
 * @example
 * ```ts ignore
 * const source = await sequenceSource("calib/seq", "NCHW");
 * ```
 */
export async function sequenceSource(dir: string, layout: ImageLayout): Promise<SampleSource> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if ((e.isFile || e.isSymlink) && !e.name.startsWith(".") && e.name.toLowerCase().endsWith(".txt")) {
        names.push(e.name);
      }
    }
  } catch {
    throw new DataError(`Sequence folder not found: ${dir}`);
  }
  if (names.length === 0) throw new DataError(`No sequence .txt files in ${dir}`);
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files = names.map((n) => join(dir, n));
  return {
    description: `${files.length} sequence files in ${dir}`,
    count: files.length,
    sampleDims: undefined,
    async read(i) {
      const file = files[i]!;
      const bytes = await readBytes(file, "Sequence file");
      return parseSequenceText(new TextDecoder().decode(bytes), file, layout);
    },
  };
}
