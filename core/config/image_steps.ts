/**
 * One description of image preprocessing that every config dialect maps onto:
 * a list of steps run in order on float pixels (0..255 as decoded), then a
 * final fit to the model's size and the NCHW / NHWC layout.
 *
 * The steps are those the seed tools use: colour order (MNN's `format`,
 * Sophon's `bgr2rgb`, the no-training tool's `image_format`), bilinear resize
 * with OpenCV's half-pixel or MNN's corner-aligned sampling, keep-aspect resize
 * (`resize_side`), centre crop in pixels or as a fraction, and a per-channel
 * affine `(x − mean[c]) · scale[c]` (MNN `mean`/`normal`, `(x − mean) / std`,
 * Sophon `mean_value`/`scale`, our `[0, 1]`-scale mean/std).
 *
 * Everything runs in float32 on interleaved (HWC) pixels, so affine steps may
 * sit between geometric ones (Sophon's `ssd_inception_tensorflow` scales
 * before it crops) without rounding back to 8 bits.
 *
 * @module
 */

import type { ImageLayout, RawImage } from "../preprocess.ts";

/**
 * Channel orders a step can convert to; the model's input takes the order the
 * last step leaves (MNN's `format`: BGR means channel 0 is blue).
 *
 * @example
 * ```ts
 * import type { ColorOrder } from "./image_steps.ts";
 * const caffe: ColorOrder = "BGR";
 * ```
 */
export type ColorOrder = "RGB" | "BGR" | "GRAY" | "RGBA" | "BGRA";

/**
 * Channels of each order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COLOR_CHANNELS } from "./image_steps.ts";
 * assert.equal(COLOR_CHANNELS.BGRA, 4);
 * ```
 */
export const COLOR_CHANNELS: Readonly<Record<ColorOrder, number>> = { RGB: 3, BGR: 3, GRAY: 1, RGBA: 4, BGRA: 4 };

/**
 * Where bilinear resizing samples the source: `half-pixel` maps pixel centres
 * (OpenCV `INTER_LINEAR`, PIL without antialiasing); `corners` maps the corner
 * pixels onto each other (MNN `ImageProcess` with the quantization tool's
 * matrix: `src = dst · (W − 1) / (w − 1)`).
 *
 * @example
 * ```ts
 * import type { ResizeAlign } from "./image_steps.ts";
 * const mnn: ResizeAlign = "corners";
 * ```
 */
export type ResizeAlign = "half-pixel" | "corners";

/**
 * ITU-R BT.601 luma weights of R, G, B, as OpenCV's `cvtColor(…GRAY)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BT601_GRAY } from "./image_steps.ts";
 * assert.ok(Math.abs(BT601_GRAY.reduce((a, b) => a + b) - 1) < 1e-12);
 * ```
 */
export const BT601_GRAY: readonly [number, number, number] = [0.299, 0.587, 0.114];
/**
 * MNN ImageProcess: `y = (19·r + 38·g + 7·b) >> 6` (the shift's truncation is not reproduced).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MNN_GRAY } from "./image_steps.ts";
 * assert.equal(MNN_GRAY[0] * 64, 19);
 * ```
 */
export const MNN_GRAY: readonly [number, number, number] = [19 / 64, 38 / 64, 7 / 64];

/**
 * One preprocessing step.
 *
 * - `color`: convert to another channel order (alpha is dropped, not composited; gray uses `grayWeights`
 *   on R, G, B, default {@link BT601_GRAY}; gray → colour replicates; added alpha is 255).
 * - `resize`: bilinear to exactly `width × height`.
 * - `resize_shorter`: bilinear, keeping the aspect ratio, so the shorter side becomes `side`
 *   (the longer one is rounded half to even, as TF's `rint`).
 * - `center_crop`: the centred `width × height` window (offset `⌊(W − w) / 2⌋`); an image smaller than it is an error.
 * - `crop_fraction`: the centred fraction of each side; `mnn` rounding keeps `⌊H·f⌋` rows from `⌊(H − size) / 2⌋`
 *   (MNN ImageDataset, MNN's Python sample), `tf` starts at `⌊(H − H·f) / 2⌋` and keeps `H − 2·start`
 *   (`tf.image.central_crop`).
 * - `affine`: `x = (x − mean[c]) · scale[c]`; one value applies to every channel.
 *
 * @example
 * ```ts
 * import type { ImageStep } from "./image_steps.ts";
 * const mnnMobilenet: ImageStep[] = [
 *   { op: "color", to: "BGR" },
 *   { op: "resize", width: 224, height: 224, align: "corners" },
 *   { op: "affine", mean: [103.94, 116.78, 123.68], scale: [0.017] },
 * ];
 * ```
 */
export type ImageStep =
  | { readonly op: "color"; readonly to: ColorOrder; readonly grayWeights?: readonly [number, number, number] }
  | { readonly op: "resize"; readonly width: number; readonly height: number; readonly align: ResizeAlign }
  | { readonly op: "resize_shorter"; readonly side: number; readonly align: ResizeAlign }
  | { readonly op: "center_crop"; readonly width: number; readonly height: number }
  | { readonly op: "crop_fraction"; readonly height: number; readonly width: number; readonly rounding: "mnn" | "tf" }
  | { readonly op: "affine"; readonly mean: readonly number[]; readonly scale: readonly number[] };

/**
 * A whole image preprocessing: the steps, then `fit` when the result is not the model's size
 * (`half-pixel` / `corners`: a final bilinear resize; `none`: the image is refused).
 *
 * @example
 * ```ts
 * import type { ImagePipeline } from "./image_steps.ts";
 * const torchvision: ImagePipeline = {
 *   steps: [{ op: "color", to: "RGB" }, { op: "affine", mean: [0.485 * 255], scale: [1 / (0.229 * 255)] }],
 *   fit: "half-pixel",
 * };
 * ```
 */
export interface ImagePipeline {
  readonly steps: readonly ImageStep[];
  readonly fit: ResizeAlign | "none";
}

/**
 * Float pixels, interleaved (HWC), in a known channel order.
 *
 * @example
 * ```ts
 * import type { FloatImage } from "./image_steps.ts";
 * const redPixel: FloatImage = { data: new Float32Array([255, 0, 0]), width: 1, height: 1, order: "RGB" };
 * ```
 */
export interface FloatImage {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
  readonly order: ColorOrder;
}

/**
 * A preprocessing problem with one particular image (too small for a crop, wrong size with `fit: "none"`).
 * Callers add the file name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ImageStepError } from "./image_steps.ts";
 * assert.equal(new ImageStepError("too small").name, "ImageStepError");
 * ```
 */
export class ImageStepError extends Error {
  override name = "ImageStepError";
}

/**
 * The channel order the steps leave, starting from `start`; throws if an affine step has a value count that is
 * neither 1 nor the channel count at that point, or a size is not a positive integer. The message names the step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { finalColorOrder } from "./image_steps.ts";
 * assert.equal(finalColorOrder([{ op: "color", to: "GRAY" }], "RGBA"), "GRAY");
 * assert.throws(
 *   () => finalColorOrder([{ op: "color", to: "BGR" }, { op: "affine", mean: [1, 2], scale: [1] }], "RGBA"),
 *   /step 2 \(affine\): mean has 2 values but the image has 3 channels \(BGR\)/,
 * );
 * ```
 */
export function finalColorOrder(steps: readonly ImageStep[], start: ColorOrder): ColorOrder {
  let order = start;
  steps.forEach((step, i) => {
    const where = `step ${i + 1} (${step.op})`;
    const positive = (name: string, v: number) => {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${where}: ${name} must be a positive integer, got ${v}`);
    };
    switch (step.op) {
      case "color":
        order = step.to;
        break;
      case "resize":
      case "center_crop":
        positive("width", step.width);
        positive("height", step.height);
        break;
      case "resize_shorter":
        positive("side", step.side);
        break;
      case "crop_fraction":
        for (const [name, f] of [["height", step.height], ["width", step.width]] as const) {
          if (!(f > 0 && f <= 1)) throw new Error(`${where}: ${name} fraction must be in (0, 1], got ${f}`);
        }
        break;
      case "affine": {
        const c = COLOR_CHANNELS[order];
        for (const [name, values] of [["mean", step.mean], ["scale", step.scale]] as const) {
          if (values.length !== 1 && values.length !== c) {
            throw new Error(
              `${where}: ${name} has ${values.length} values but the image has ${c} channel${
                c === 1 ? "" : "s"
              } (${order})`,
            );
          }
          if (values.some((v) => !Number.isFinite(v))) throw new Error(`${where}: ${name} holds a non-finite value`);
        }
        break;
      }
    }
  });
  return order;
}

/**
 * The size the steps produce whatever the source size, if they end in one (a `resize` or `center_crop` not
 * followed by a size-dependent step); `undefined` otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fixedOutputSize } from "./image_steps.ts";
 * const steps = [
 *   { op: "resize_shorter", side: 256, align: "half-pixel" },
 *   { op: "center_crop", width: 224, height: 224 },
 * ] as const;
 * assert.deepEqual(fixedOutputSize(steps), { width: 224, height: 224 });
 * assert.equal(fixedOutputSize([steps[0]]), undefined);
 * ```
 */
export function fixedOutputSize(steps: readonly ImageStep[]): { width: number; height: number } | undefined {
  let size: { width: number; height: number } | undefined;
  for (const step of steps) {
    if (step.op === "resize" || step.op === "center_crop") size = { width: step.width, height: step.height };
    else if (step.op === "resize_shorter" || step.op === "crop_fraction") size = undefined;
  }
  return size;
}

/**
 * Decoded 8-bit pixels (1 = gray, 3 = RGB, 4 = RGBA) as float pixels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toFloatImage } from "./image_steps.ts";
 * const f = toFloatImage({ data: new Uint8Array([1, 2, 3, 4]), width: 1, height: 1, channels: 4 });
 * assert.equal(f.order, "RGBA");
 * assert.deepEqual(Array.from(f.data), [1, 2, 3, 4]);
 * ```
 */
export function toFloatImage(image: RawImage): FloatImage {
  const orders: Record<number, ColorOrder> = { 1: "GRAY", 3: "RGB", 4: "RGBA" };
  const order = orders[image.channels];
  if (!order) throw new Error(`Decoded images have 1, 3 or 4 channels, got ${image.channels}`);
  if (image.data.length !== image.width * image.height * image.channels) {
    throw new Error(`Image data has ${image.data.length} bytes, not ${image.width}×${image.height}×${image.channels}`);
  }
  return { data: Float32Array.from(image.data), width: image.width, height: image.height, order };
}

/**
 * Runs the steps on one image, fits it to `size` and lays it out: one sample of `channels·height·width` floats.
 * Throws {@link ImageStepError} when the image is too small for a crop or (with `fit: "none"`) has the wrong size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runImagePipeline } from "./image_steps.ts";
 * // 2×1 RGBA: red, blue → BGR, (x − 100) · 0.5, NCHW
 * const image = { data: new Uint8Array([255, 0, 0, 255, 0, 0, 255, 255]), width: 2, height: 1, channels: 4 };
 * const pipeline = {
 *   steps: [{ op: "color", to: "BGR" }, { op: "affine", mean: [100], scale: [0.5] }],
 *   fit: "none",
 * } as const;
 * const t = runImagePipeline(image, pipeline, { width: 2, height: 1 }, "NCHW");
 * assert.deepEqual(Array.from(t), [-50, 77.5, -50, -50, 77.5, -50]);
 * ```
 */
export function runImagePipeline(
  image: RawImage,
  pipeline: ImagePipeline,
  size: { width: number; height: number },
  layout: ImageLayout,
): Float32Array {
  let img = toFloatImage(image);
  for (const step of pipeline.steps) img = applyStep(img, step);
  if (img.width !== size.width || img.height !== size.height) {
    if (pipeline.fit === "none") {
      throw new ImageStepError(
        `is ${img.width}×${img.height} after preprocessing but the model input needs ${size.width}×${size.height}`,
      );
    }
    img = resizeBilinear(img, size.width, size.height, pipeline.fit);
  }
  return layout === "NHWC" ? img.data : toPlanar(img);
}

/**
 * Applies one step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyStep } from "./image_steps.ts";
 * const img = { data: new Float32Array([0, 10, 20, 30]), width: 4, height: 1, order: "GRAY" } as const;
 * const out = applyStep(img, { op: "center_crop", width: 2, height: 1 });
 * assert.deepEqual(Array.from(out.data), [10, 20]);
 * ```
 */
export function applyStep(img: FloatImage, step: ImageStep): FloatImage {
  switch (step.op) {
    case "color":
      return convertColor(img, step.to, step.grayWeights ?? BT601_GRAY);
    case "resize":
      return resizeBilinear(img, step.width, step.height, step.align);
    case "resize_shorter": {
      const scale = step.side / Math.min(img.width, img.height);
      const w = img.width <= img.height ? step.side : roundHalfEven(img.width * scale);
      const h = img.width <= img.height ? roundHalfEven(img.height * scale) : step.side;
      return resizeBilinear(img, Math.max(1, w), Math.max(1, h), step.align);
    }
    case "center_crop": {
      if (img.width < step.width || img.height < step.height) {
        throw new ImageStepError(
          `is ${img.width}×${img.height} at the crop step, smaller than the ${step.width}×${step.height} crop`,
        );
      }
      return crop(
        img,
        Math.floor((img.width - step.width) / 2),
        Math.floor((img.height - step.height) / 2),
        step.width,
        step.height,
      );
    }
    case "crop_fraction": {
      const [top, h] = fractionWindow(img.height, step.height, step.rounding);
      const [left, w] = fractionWindow(img.width, step.width, step.rounding);
      if (w < 1 || h < 1) throw new ImageStepError(`is ${img.width}×${img.height}, too small to crop a fraction of`);
      return crop(img, left, top, w, h);
    }
    case "affine":
      return affine(img, step.mean, step.scale);
  }
}

function fractionWindow(size: number, fraction: number, rounding: "mnn" | "tf"): [number, number] {
  if (rounding === "mnn") {
    const keep = Math.trunc(size * fraction);
    return [Math.trunc((size - keep) / 2), keep];
  }
  const start = Math.trunc((size - size * fraction) / 2);
  return [start, size - 2 * start];
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Index of R, G, B (and alpha) in each order; gray has none. */
const RGB_INDEX: Record<ColorOrder, { r: number; g: number; b: number; a: number } | undefined> = {
  RGB: { r: 0, g: 1, b: 2, a: -1 },
  BGR: { r: 2, g: 1, b: 0, a: -1 },
  RGBA: { r: 0, g: 1, b: 2, a: 3 },
  BGRA: { r: 2, g: 1, b: 0, a: 3 },
  GRAY: undefined,
};

function convertColor(img: FloatImage, to: ColorOrder, gray: readonly [number, number, number]): FloatImage {
  if (img.order === to) return img;
  const n = img.width * img.height;
  const src = img.data;
  const cin = COLOR_CHANNELS[img.order];
  const cout = COLOR_CHANNELS[to];
  const out = new Float32Array(n * cout);
  const from = RGB_INDEX[img.order];
  const dst = RGB_INDEX[to];
  for (let i = 0; i < n; i++) {
    const s = i * cin;
    let r: number, g: number, b: number, a = 255;
    if (from) {
      r = src[s + from.r]!;
      g = src[s + from.g]!;
      b = src[s + from.b]!;
      if (from.a >= 0) a = src[s + from.a]!;
    } else {
      r = g = b = src[s]!;
    }
    const d = i * cout;
    if (dst) {
      out[d + dst.r] = r;
      out[d + dst.g] = g;
      out[d + dst.b] = b;
      if (dst.a >= 0) out[d + dst.a] = a;
    } else {
      out[d] = gray[0] * r + gray[1] * g + gray[2] * b;
    }
  }
  return { data: out, width: img.width, height: img.height, order: to };
}

/** Source coordinate and weight of each destination column/row. */
function sampling(dst: number, src: number, align: ResizeAlign): { i0: Int32Array; i1: Int32Array; w: Float32Array } {
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const w = new Float32Array(dst);
  for (let x = 0; x < dst; x++) {
    let f: number;
    if (align === "corners") f = dst > 1 ? (x * (src - 1)) / (dst - 1) : 0;
    else f = Math.max(0, (x + 0.5) * (src / dst) - 0.5);
    let k = Math.floor(f);
    let frac = f - k;
    if (k >= src - 1) {
      k = src - 1;
      frac = 0;
    }
    i0[x] = k;
    i1[x] = Math.min(k + 1, src - 1);
    w[x] = frac;
  }
  return { i0, i1, w };
}

/**
 * Bilinear resize without antialiasing, as OpenCV `INTER_LINEAR` (`half-pixel`) or MNN (`corners`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resizeBilinear } from "./image_steps.ts";
 * const img = { data: new Float32Array([0, 30]), width: 2, height: 1, order: "GRAY" } as const;
 * assert.deepEqual(Array.from(resizeBilinear(img, 4, 1, "corners").data), [0, 10, 20, 30]);
 * assert.deepEqual(Array.from(resizeBilinear(img, 4, 1, "half-pixel").data), [0, 7.5, 22.5, 30]);
 * ```
 */
export function resizeBilinear(img: FloatImage, width: number, height: number, align: ResizeAlign): FloatImage {
  if (width === img.width && height === img.height) return img;
  const c = COLOR_CHANNELS[img.order];
  const xs = sampling(width, img.width, align);
  const ys = sampling(height, img.height, align);
  const src = img.data;
  const out = new Float32Array(width * height * c);
  const rowStride = img.width * c;
  for (let y = 0; y < height; y++) {
    const r0 = ys.i0[y]! * rowStride;
    const r1 = ys.i1[y]! * rowStride;
    const wy = ys.w[y]!;
    for (let x = 0; x < width; x++) {
      const c0 = xs.i0[x]! * c;
      const c1 = xs.i1[x]! * c;
      const wx = xs.w[x]!;
      const o = (y * width + x) * c;
      for (let k = 0; k < c; k++) {
        const top = src[r0 + c0 + k]! * (1 - wx) + src[r0 + c1 + k]! * wx;
        const bottom = src[r1 + c0 + k]! * (1 - wx) + src[r1 + c1 + k]! * wx;
        out[o + k] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return { data: out, width, height, order: img.order };
}

function crop(img: FloatImage, left: number, top: number, width: number, height: number): FloatImage {
  const c = COLOR_CHANNELS[img.order];
  const out = new Float32Array(width * height * c);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * img.width + left) * c;
    out.set(img.data.subarray(from, from + width * c), y * width * c);
  }
  return { data: out, width, height, order: img.order };
}

function affine(img: FloatImage, mean: readonly number[], scale: readonly number[]): FloatImage {
  const c = COLOR_CHANNELS[img.order];
  const m = Array.from({ length: c }, (_, k) => mean.length === 1 ? mean[0]! : mean[k]);
  const s = Array.from({ length: c }, (_, k) => scale.length === 1 ? scale[0]! : scale[k]);
  if (m.some((v) => v === undefined) || s.some((v) => v === undefined)) {
    throw new Error(`affine step: mean/scale need 1 or ${c} values for ${img.order}`);
  }
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) {
    const k = i % c;
    out[i] = (img.data[i]! - m[k]!) * s[k]!;
  }
  return { data: out, width: img.width, height: img.height, order: img.order };
}

function toPlanar(img: FloatImage): Float32Array {
  const c = COLOR_CHANNELS[img.order];
  const n = img.width * img.height;
  const out = new Float32Array(n * c);
  for (let k = 0; k < c; k++) {
    const base = k * n;
    for (let i = 0; i < n; i++) out[base + i] = img.data[i * c + k]!;
  }
  return out;
}
