/**
 * Calibration and evaluation data as re-iterable batches for the pipeline:
 * an image folder (labels from an optional `labels.csv`, `file,label,…`) or an
 * IDX image set.
 *
 * @module
 */

import { basename, join } from "node:path";
import type { Batch, BatchSource } from "../core/quant/calibrate.ts";
import { type ImagePreprocess, pixelsToTensor, stackBatch, tensorShape } from "../core/preprocess.ts";
import { DataError, listImageFiles, readImageFile } from "./images.ts";
import { idxImage, type IdxImages } from "./idx.ts";

/** A calibration image folder resolved for one model input. */
export interface ImageFolderSource {
  /** The re-iterable batches. */
  source: BatchSource;
  /** Image files used, in order. */
  files: string[];
  /** Whether labels were found for every file. */
  labelled: boolean;
}

/**
 * Reads `labels.csv` next to the images, if present: `file,label[,…]` with a header row.
 *
 * @example
 * ```ts ignore
 * const labels = await readLabels("calib-data/fmnist"); // Map { "img_00000.png" => 9, … }
 * ```
 */
export async function readLabels(dir: string): Promise<Map<string, number> | undefined> {
  const path = join(dir, "labels.csv");
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new DataError(`Cannot read ${path}: ${(e as Error).message}`);
  }
  const labels = new Map<string, number>();
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  lines.slice(1).forEach((line, i) => {
    const [file, label] = line.split(",");
    const value = Number(label);
    if (!file || !Number.isInteger(value)) {
      throw new DataError(`${path} line ${i + 2}: expected "file,label" with an integer label, got "${line}"`);
    }
    labels.set(file.trim(), value);
  });
  return labels;
}

/**
 * Builds batches of `batchSize` preprocessed images for the named input.
 *
 * @example
 * ```ts ignore
 * const { source } = await imageFolderSource("calib-data/fmnist", "input", spec, { batchSize: 8 });
 * for await (const batch of source()) console.log(batch.size);
 * ```
 */
export async function imageFolderSource(
  dir: string,
  inputName: string,
  spec: ImagePreprocess,
  options: { batchSize: number; limit?: number; resize?: boolean },
): Promise<ImageFolderSource> {
  const all = await listImageFiles(dir);
  const files = options.limit ? all.slice(0, options.limit) : all;
  const labels = await readLabels(dir);
  const labelled = labels !== undefined && files.every((f) => labels.has(basename(f)));
  const readOptions = { resize: options.resize ?? true, inputName };
  const source: BatchSource = async function* (): AsyncGenerator<Batch> {
    for (let start = 0; start < files.length; start += options.batchSize) {
      const chunk = files.slice(start, start + options.batchSize);
      const samples = await Promise.all(chunk.map((f) => readImageFile(f, spec, readOptions)));
      const batch: Batch = {
        feeds: { [inputName]: { data: stackBatch(samples, spec), dims: tensorShape(spec, chunk.length) } },
        size: chunk.length,
      };
      if (labelled) batch.labels = chunk.map((f) => labels!.get(basename(f))!);
      yield batch;
    }
  };
  return { source, files, labelled };
}

/**
 * Batches from an IDX image set (MNIST / Fashion-MNIST), already in memory,
 * with its labels: images `[start, start + count)`.
 *
 * @example
 * ```ts ignore
 * const images = await readIdxImages("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
 * const source = idxSource(images, labels, "input", spec, { batchSize: 100 });
 * ```
 */
export function idxSource(
  images: IdxImages,
  labels: Uint8Array | undefined,
  inputName: string,
  spec: ImagePreprocess,
  options: { batchSize: number; start?: number; count?: number },
): BatchSource {
  if (images.rows !== spec.height || images.cols !== spec.width || spec.channels !== 1) {
    throw new DataError(
      `IDX images are ${images.cols}×${images.rows} gray but the model input ${inputName} needs ` +
        `${spec.width}×${spec.height}×${spec.channels}`,
    );
  }
  const start = options.start ?? 0;
  const end = Math.min(images.count, start + (options.count ?? images.count));
  return async function* (): AsyncGenerator<Batch> {
    for (let i = start; i < end; i += options.batchSize) {
      const n = Math.min(options.batchSize, end - i);
      const samples = Array.from({ length: n }, (_, k) => pixelsToTensor(idxImage(images, i + k), spec));
      const batch: Batch = {
        feeds: { [inputName]: { data: stackBatch(samples, spec), dims: tensorShape(spec, n) } },
        size: n,
      };
      if (labels) batch.labels = Array.from(labels.subarray(i, i + n));
      yield batch;
    }
  };
}
