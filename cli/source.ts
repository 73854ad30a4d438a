/**
 * Calibration data from an image folder, as re-iterable batches for the
 * pipeline, with labels from an optional `labels.csv` (`file,label,…`).
 *
 * @module
 */

import { basename, join } from "node:path";
import type { Batch, BatchSource } from "../core/quant/calibrate.ts";
import { type ImagePreprocess, stackBatch, tensorShape } from "../core/preprocess.ts";
import { DataError, listImageFiles, readImageFile } from "./images.ts";

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
