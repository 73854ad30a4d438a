/**
 * Turns decoded 8-bit pixels into the float tensor a vision model takes.
 *
 * Each value is `(pixel / 255 - mean[c]) / std[c]`, the torchvision
 * `ToTensor()` + `Normalize(mean, std)` convention, laid out NCHW or NHWC for
 * one sample. Decoding, channel conversion and resizing happen before this
 * step (in `cli/`); this module only checks shapes and does arithmetic.
 *
 * @module
 */

/** Memory order of one image tensor: channels-first (`NCHW`) or channels-last (`NHWC`). */
export type ImageLayout = "NCHW" | "NHWC";

/**
 * How the model wants its image input: size, channel count, layout and per-channel normalization.
 *
 * @example
 * ```ts
 * import type { ImagePreprocess } from "./preprocess.ts";
 * const imagenet: ImagePreprocess = {
 *   width: 224,
 *   height: 224,
 *   channels: 3,
 *   layout: "NCHW",
 *   mean: [0.485, 0.456, 0.406],
 *   std: [0.229, 0.224, 0.225],
 * };
 * ```
 */
export interface ImagePreprocess {
  /** Width in pixels the model expects. */
  readonly width: number;
  /** Height in pixels the model expects. */
  readonly height: number;
  /** 1 for grayscale, 3 for RGB (in R, G, B order). */
  readonly channels: 1 | 3;
  /** Memory order of the produced tensor. */
  readonly layout: ImageLayout;
  /** Per-channel mean on the 0..1 scale; one value applies to every channel. */
  readonly mean: readonly number[];
  /** Per-channel standard deviation on the 0..1 scale, each > 0; one value applies to every channel. */
  readonly std: readonly number[];
}

/**
 * Decoded pixels, interleaved (HWC) 8-bit, row-major from the top-left corner.
 *
 * @example
 * ```ts
 * import type { RawImage } from "./preprocess.ts";
 * // a 2×1 RGB image: one red pixel, then one blue pixel
 * const image: RawImage = { data: new Uint8Array([255, 0, 0, 0, 0, 255]), width: 2, height: 1, channels: 3 };
 * ```
 */
export interface RawImage {
  /** `width * height * channels` bytes. */
  readonly data: Uint8Array;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Interleaved channels per pixel, 1..4. */
  readonly channels: number;
}

/**
 * Checks a preprocessing spec and returns its mean and std expanded to one value per channel.
 * Throws an Error naming the problem, e.g. `mean has 2 values but the input has 3 channels`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveNormalization } from "./preprocess.ts";
 * const n = resolveNormalization({ width: 8, height: 8, channels: 3, layout: "NCHW", mean: [0.5], std: [0.25] });
 * assert.deepEqual(n, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
 * ```
 */
export function resolveNormalization(spec: ImagePreprocess): { mean: number[]; std: number[] } {
  for (const key of ["width", "height"] as const) {
    const v = spec[key];
    if (!Number.isInteger(v) || v < 1) throw new Error(`Image ${key} must be a positive integer, got ${v}`);
  }
  if (spec.channels !== 1 && spec.channels !== 3) {
    throw new Error(`Image channels must be 1 or 3, got ${spec.channels}`);
  }
  if (spec.layout !== "NCHW" && spec.layout !== "NHWC") {
    throw new Error(`Image layout must be "NCHW" or "NHWC", got ${JSON.stringify(spec.layout)}`);
  }
  const mean = perChannel("mean", spec.mean, spec.channels);
  const std = perChannel("std", spec.std, spec.channels);
  std.forEach((s, c) => {
    if (!(s > 0)) throw new Error(`std[${c}] must be > 0, got ${s}`);
  });
  mean.forEach((m, c) => {
    if (!Number.isFinite(m)) throw new Error(`mean[${c}] must be a finite number, got ${m}`);
  });
  return { mean, std };
}

function perChannel(name: string, values: readonly number[], channels: number): number[] {
  if (values.length === 1) return new Array<number>(channels).fill(values[0]!);
  if (values.length !== channels) {
    throw new Error(
      `${name} has ${values.length} value${values.length === 1 ? "" : "s"} but the input has ${channels} channel${
        channels === 1 ? "" : "s"
      }`,
    );
  }
  return [...values];
}

/**
 * Number of floats in one sample: `width * height * channels`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sampleSize } from "./preprocess.ts";
 * assert.equal(sampleSize({ width: 28, height: 28, channels: 1 }), 784);
 * ```
 */
export function sampleSize(spec: Pick<ImagePreprocess, "width" | "height" | "channels">): number {
  return spec.width * spec.height * spec.channels;
}

/**
 * The tensor shape of a batch of `batch` samples: `[N, C, H, W]` or `[N, H, W, C]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tensorShape } from "./preprocess.ts";
 * assert.deepEqual(tensorShape({ width: 4, height: 2, channels: 3, layout: "NHWC" }, 5), [5, 2, 4, 3]);
 * ```
 */
export function tensorShape(
  spec: Pick<ImagePreprocess, "width" | "height" | "channels" | "layout">,
  batch: number,
): [number, number, number, number] {
  return spec.layout === "NCHW"
    ? [batch, spec.channels, spec.height, spec.width]
    : [batch, spec.height, spec.width, spec.channels];
}

/**
 * Normalizes one decoded image into a float tensor of one sample (`sampleSize(spec)` floats).
 * The image must already have the spec's size and channel count; otherwise this throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pixelsToTensor } from "./preprocess.ts";
 * // 2×1 RGB: pixel 0 = (255, 0, 51), pixel 1 = (0, 255, 102)
 * const image = { data: new Uint8Array([255, 0, 51, 0, 255, 102]), width: 2, height: 1, channels: 3 };
 * const t = pixelsToTensor(image, { width: 2, height: 1, channels: 3, layout: "NCHW", mean: [0], std: [1] });
 * assert.deepEqual(Array.from(t), [1, 0, 0, 1, 0.20000000298023224, 0.4000000059604645]);
 * ```
 */
export function pixelsToTensor(image: RawImage, spec: ImagePreprocess): Float32Array {
  const { mean, std } = resolveNormalization(spec);
  const { width, height, channels } = spec;
  if (image.width !== width || image.height !== height) {
    throw new Error(`Image is ${image.width}×${image.height} but the input needs ${width}×${height}`);
  }
  if (image.channels !== channels) {
    throw new Error(`Image has ${image.channels} channels but the input needs ${channels}`);
  }
  const pixels = width * height;
  if (image.data.length !== pixels * channels) {
    throw new Error(
      `Image data has ${image.data.length} bytes but ${width}×${height}×${channels} needs ${pixels * channels}`,
    );
  }
  // (p/255 - m)/s == p * scale[c] + offset[c]; precomputed per channel.
  const scale = std.map((s) => 1 / (255 * s));
  const offset = mean.map((m, c) => -m / std[c]!);
  const out = new Float32Array(pixels * channels);
  const data = image.data;
  for (let c = 0; c < channels; c++) {
    const k = scale[c]!;
    const b = offset[c]!;
    if (spec.layout === "NCHW") {
      const base = c * pixels;
      for (let i = 0; i < pixels; i++) out[base + i] = data[i * channels + c]! * k + b;
    } else {
      for (let i = c; i < out.length; i += channels) out[i] = data[i]! * k + b;
    }
  }
  return out;
}

/**
 * Concatenates samples of one spec into a single batch buffer (batch is the outermost axis in both layouts).
 * Throws if the list is empty or a sample has the wrong length.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stackBatch } from "./preprocess.ts";
 * const spec = { width: 1, height: 1, channels: 3 } as const;
 * const batch = stackBatch([new Float32Array([1, 2, 3]), new Float32Array([4, 5, 6])], spec);
 * assert.deepEqual(Array.from(batch), [1, 2, 3, 4, 5, 6]);
 * ```
 */
export function stackBatch(
  samples: readonly Float32Array[],
  spec: Pick<ImagePreprocess, "width" | "height" | "channels">,
): Float32Array {
  if (samples.length === 0) throw new Error("Cannot stack an empty batch: no samples given");
  const size = sampleSize(spec);
  const out = new Float32Array(size * samples.length);
  samples.forEach((s, i) => {
    if (s.length !== size) {
      throw new Error(
        `Sample ${i} has ${s.length} values but ${spec.width}×${spec.height}×${spec.channels} needs ${size}`,
      );
    }
    out.set(s, i * size);
  });
  return out;
}
