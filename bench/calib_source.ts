/**
 * Calibration data for the bench at any number of images, with memory independent of that
 * number: the 28×28 Fashion-MNIST models read the first N images of the *train* set (the
 * evaluation uses t10k); any other model cycles through its calibration folder, decoded once.
 *
 * @module
 */

import type { Batch, BatchSource } from "../core/quant/calibrate.ts";
import { pixelsToTensor, stackBatch, tensorShape } from "../core/preprocess.ts";
import { idxImage, readIdxImages } from "../cli/idx.ts";
import { imageFolderSource } from "../cli/source.ts";
import { type BenchModel, FMNIST_DIR } from "./fixtures.ts";

/** A re-iterable calibration source of exactly `count` samples, and what it is in words. */
export interface BenchCalibration {
  source: BatchSource;
  what: string;
}

/**
 * `count` calibration samples for `m` in batches of `batchSize`.
 *
 * @example
 * ```ts ignore
 * const { source, what } = await benchCalibration(BENCH_MODELS[0]!, 1000, 1);
 * ```
 */
export async function benchCalibration(m: BenchModel, count: number, batchSize: number): Promise<BenchCalibration> {
  if (m.evaluation === "fmnist-t10k" && m.spec.width === 28 && m.spec.height === 28 && m.spec.channels === 1) {
    const images = await readIdxImages(`${FMNIST_DIR}/train-images-idx3-ubyte.gz`);
    const n = Math.min(count, images.count);
    const source: BatchSource = async function* (): AsyncGenerator<Batch> {
      for (let start = 0; start < n; start += batchSize) {
        const size = Math.min(batchSize, n - start);
        const samples = Array.from({ length: size }, (_, k) => pixelsToTensor(idxImage(images, start + k), m.spec));
        yield { feeds: { [m.input]: { data: stackBatch(samples, m.spec), dims: tensorShape(m.spec, size) } }, size };
      }
    };
    return { source, what: `the first ${n} Fashion-MNIST train images` };
  }
  const folder = await imageFolderSource(m.calib, m.input, m.spec, { batchSize: 1 });
  const decoded: Float32Array[] = [];
  for await (const batch of folder.source()) decoded.push(batch.feeds[m.input]!.data);
  const source: BatchSource = async function* (): AsyncGenerator<Batch> {
    for (let start = 0; start < count; start += batchSize) {
      const size = Math.min(batchSize, count - start);
      const samples = Array.from({ length: size }, (_, k) => decoded[(start + k) % decoded.length]!);
      yield { feeds: { [m.input]: { data: stackBatch(samples, m.spec), dims: tensorShape(m.spec, size) } }, size };
    }
  };
  const cycled = count > decoded.length ? `, cycled to ${count}` : "";
  return { source, what: `${Math.min(count, decoded.length)} images of ${m.calib}${cycled}` };
}
