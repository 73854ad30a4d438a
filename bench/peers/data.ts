/**
 * The side-by-side bench's inputs, made once per model with this project's
 * preprocessing and handed to every tool: calibration and evaluation tensors
 * as `.npy` (ONNX Runtime's data reader, every runtime's evaluation), and the
 * calibration images re-written at the model's exact input size for MNN's
 * mnnquant, which reads images itself (with mean/normal equal to our
 * mean/std, so it computes the same tensors; scripts/peers/mnn_peer.py
 * check-preprocess verifies that).
 *
 * @module
 */

import { join } from "node:path";
import sharp from "sharp";
import type { Batch, BatchSource } from "../../core/quant/calibrate.ts";
import {
  type ImagePreprocess,
  pixelsToTensor,
  type RawImage,
  resolveNormalization,
  sampleSize,
  stackBatch,
  tensorShape,
} from "../../core/preprocess.ts";
import { idxImage, type IdxImages, readIdxImages, readIdxLabels } from "../../cli/idx.ts";
import { imageFolderSource } from "../../cli/source.ts";
import { type BenchModel, FMNIST_DIR } from "../fixtures.ts";
import { encodeNpy } from "./npy.ts";

/** MNN imageInputConfig.json preprocessing fields equal to a spec: `dst = (src − mean) · normal` on 0..255 pixels. */
export interface MnnImageConfig {
  format: "GRAY" | "RGB";
  mean: number[];
  normal: number[];
  width: number;
  height: number;
}

/** Everything the tools are fed for one model, on disk under `dir`. */
export interface PeerData {
  dir: string;
  /** [N, C, H, W] calibration tensors, in the order of `calibFiles`. */
  calibNpy: string;
  calibCount: number;
  /** The calibration images as given (the model's calib folder). */
  calibFiles: string[];
  /** The same calibration samples as 8-bit PNGs at the model's input size (for mnnquant). */
  calibImagesDir: string;
  /** [N, C, H, W] evaluation tensors. */
  evalNpy: string;
  evalTensors: Float32Array;
  evalShape: number[];
  /** Labels of the evaluation samples, when known. */
  labels: number[] | undefined;
  /** What the evaluation set is, in words. */
  evalWhat: string;
  mnnConfig: MnnImageConfig;
}

/**
 * The MNN image config that reproduces `spec` (NCHW, 1 or 3 channels): mean = 255·mean, normal = 1/(255·std).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mnnImageConfig } from "./data.ts";
 * const c = mnnImageConfig({ width: 192, height: 48, channels: 3, layout: "NCHW", mean: [0.5], std: [0.5] });
 * assert.deepEqual([c.format, c.mean, c.normal[0]], ["RGB", [127.5, 127.5, 127.5], 1 / 127.5]);
 * ```
 */
export function mnnImageConfig(spec: ImagePreprocess): MnnImageConfig {
  if (spec.layout !== "NCHW") throw new Error(`MNN's image config needs an NCHW input, the spec is ${spec.layout}`);
  const { mean, std } = resolveNormalization(spec);
  return {
    format: spec.channels === 1 ? "GRAY" : "RGB",
    mean: mean.map((m) => m * 255),
    normal: std.map((s) => 1 / (255 * s)),
    width: spec.width,
    height: spec.height,
  };
}

/**
 * Recovers the 8-bit pixels (HWC) a one-sample NCHW tensor was made from, and checks that
 * preprocessing them again gives back exactly the same floats (so a PNG of them feeds MNN the same numbers).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pixelsFromTensor } from "./data.ts";
 * const spec = { width: 2, height: 1, channels: 1, layout: "NCHW", mean: [0.5], std: [0.5] } as const;
 * const image = pixelsFromTensor(new Float32Array([-1, 1]), spec);
 * assert.deepEqual(Array.from(image.data), [0, 255]);
 * ```
 */
export function pixelsFromTensor(tensor: Float32Array, spec: ImagePreprocess): RawImage {
  const { mean, std } = resolveNormalization(spec);
  const pixels = spec.width * spec.height;
  const data = new Uint8Array(pixels * spec.channels);
  for (let c = 0; c < spec.channels; c++) {
    for (let i = 0; i < pixels; i++) {
      const value = Math.round((tensor[c * pixels + i]! * std[c]! + mean[c]!) * 255);
      data[i * spec.channels + c] = Math.min(255, Math.max(0, value));
    }
  }
  const image: RawImage = { data, width: spec.width, height: spec.height, channels: spec.channels };
  const again = pixelsToTensor(image, spec);
  for (let i = 0; i < again.length; i++) {
    if (again[i] !== tensor[i]) {
      throw new Error(
        `Cannot recover 8-bit pixels from the tensor: value ${i} ${tensor[i]} re-preprocesses to ${again[i]}`,
      );
    }
  }
  return image;
}

/**
 * Stretches a gray IDX image to `spec`'s size exactly as the image reader (cli/images.ts) stretches a
 * gray PNG: sharp `fit: "fill"` with its default lanczos3 kernel.
 *
 * @example
 * ```ts ignore
 * const image = await stretchGray(idxImage(images, 0), spec32);
 * ```
 */
export async function stretchGray(image: RawImage, spec: ImagePreprocess): Promise<RawImage> {
  if (image.width === spec.width && image.height === spec.height) return image;
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 1 } })
    .toColourspace("b-w")
    .resize(spec.width, spec.height, { fit: "fill" })
    .raw({ depth: "uchar" })
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    channels: 1,
  };
}

/**
 * Batches of the Fashion-MNIST t10k images (with labels) for a 1-channel model of any input size; images are
 * stretched like the image reader stretches the calibration PNGs when the size is not 28×28.
 *
 * @example
 * ```ts ignore
 * const { source, count } = await t10kSource(model, { batchSize: 250 });
 * ```
 */
export async function t10kSource(
  m: BenchModel,
  options: { batchSize: number; count?: number },
): Promise<{ source: BatchSource; count: number }> {
  const images: IdxImages = await readIdxImages(`${FMNIST_DIR}/t10k-images-idx3-ubyte.gz`);
  const labels = await readIdxLabels(`${FMNIST_DIR}/t10k-labels-idx1-ubyte.gz`);
  if (m.spec.channels !== 1) throw new Error(`${m.name}: Fashion-MNIST images are gray, the input has 3 channels`);
  const count = Math.min(images.count, options.count ?? images.count);
  const source: BatchSource = async function* (): AsyncGenerator<Batch> {
    for (let start = 0; start < count; start += options.batchSize) {
      const n = Math.min(options.batchSize, count - start);
      const samples = await Promise.all(
        Array.from(
          { length: n },
          async (_, k) => pixelsToTensor(await stretchGray(idxImage(images, start + k), m.spec), m.spec),
        ),
      );
      yield {
        feeds: { [m.input]: { data: stackBatch(samples, m.spec), dims: tensorShape(m.spec, n) } },
        size: n,
        labels: Array.from(labels.subarray(start, start + n)),
      };
    }
  };
  return { source, count };
}

async function collect(
  source: BatchSource,
  input: string,
): Promise<{ data: Float32Array; labels: number[] | undefined }> {
  const parts: Float32Array[] = [];
  const labels: number[] = [];
  let labelled = true;
  for await (const batch of source()) {
    parts.push(batch.feeds[input]!.data);
    if (batch.labels) labels.push(...batch.labels);
    else labelled = false;
  }
  const data = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    data.set(p, offset);
    offset += p.length;
  }
  return { data, labels: labelled ? labels : undefined };
}

/**
 * Writes the calibration and evaluation data of one bench model under `dir` (replacing what was there).
 * `evalLimit` keeps only the first N evaluation samples (the test's short run).
 *
 * @example
 * ```ts ignore
 * const data = await preparePeerData(BENCH_MODELS[1]!, "out/peers/fmnist_mobilenet", {});
 * ```
 */
export async function preparePeerData(m: BenchModel, dir: string, options: { evalLimit?: number }): Promise<PeerData> {
  const spec = m.spec;
  const mnnConfig = mnnImageConfig(spec);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const calibImagesDir = join(dir, "calib-images");
  await Deno.mkdir(calibImagesDir, { recursive: true });

  const calib = await imageFolderSource(m.calib, m.input, spec, { batchSize: 1 });
  const per = sampleSize(spec);
  const calibData = new Float32Array(per * calib.files.length);
  let i = 0;
  for await (const batch of calib.source()) {
    const sample = batch.feeds[m.input]!.data;
    calibData.set(sample, i * per);
    const image = pixelsFromTensor(sample, spec);
    const png = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: spec.channels } })
      .png({ compressionLevel: 6 })
      .toBuffer();
    await Deno.writeFile(join(calibImagesDir, `${String(i).padStart(6, "0")}.png`), png);
    i++;
  }
  const calibNpy = join(dir, "calib.npy");
  await Deno.writeFile(calibNpy, encodeNpy({ data: calibData, shape: tensorShape(spec, calib.files.length) }));

  let evaluation: { data: Float32Array; labels: number[] | undefined };
  let evalWhat: string;
  if (m.evaluation === "fmnist-t10k") {
    const { source } = await t10kSource(m, {
      batchSize: 500,
      ...(options.evalLimit ? { count: options.evalLimit } : {}),
    });
    evaluation = await collect(source, m.input);
    const stretched = spec.width === 28 && spec.height === 28 ? "" : ` stretched to ${spec.width}×${spec.height}`;
    evalWhat = `${evaluation.labels!.length} Fashion-MNIST t10k images${stretched}`;
  } else {
    const folder = await imageFolderSource(m.calib, m.input, spec, {
      batchSize: 20,
      ...(options.evalLimit ? { limit: options.evalLimit } : {}),
    });
    evaluation = await collect(folder.source, m.input);
    evalWhat = `${folder.files.length} images of ${m.calib}${folder.labelled ? " (labelled)" : ""}`;
  }
  const evalCount = evaluation.data.length / per;
  const evalShape = tensorShape(spec, evalCount);
  const evalNpy = join(dir, "eval.npy");
  await Deno.writeFile(evalNpy, encodeNpy({ data: evaluation.data, shape: evalShape }));
  return {
    dir,
    calibNpy,
    calibCount: calib.files.length,
    calibFiles: calib.files,
    calibImagesDir,
    evalNpy,
    evalTensors: evaluation.data,
    evalShape,
    labels: evaluation.labels,
    evalWhat,
    mnnConfig,
  };
}
