/**
 * MNN `quantized.out`'s imageInputConfig.json, read as MNN reads it
 * (tools/quantization/calibration.cpp and the table of seed 001):
 *
 * - images are read as RGBA and converted to `format` (default BGR; GRAY with MNN's 19/38/7 weights), so
 *   `format` is the model's channel order;
 * - `center_crop_h`/`center_crop_w` (fractions) crop the centre, then the image is resized bilinearly with
 *   corners aligned to `width × height` (the model's size when absent);
 * - `dst = (src − mean) · normal` on 0..255 values; missing entries are MNN's defaults (mean 0, normal 1),
 *   entries past the channel count are ignored, as MNN does;
 * - `feature_quantize_method` EMA quantizes activations asymmetrically (seed 001), KL and ADMM symmetrically;
 * - `batch_size` is the calibration batch, which EMA averages over; `used_image_num` / `used_sample_num` limit the
 *   images;
 * - `input_type: "sequence"` reads a folder of `.txt` files (one line of numbers per channel) instead of images.
 *
 * @module
 */

import * as z from "zod";
import { parseTree, validate } from "./_tree.ts";
import { ConfigError } from "./errors.ts";
import { COLOR_CHANNELS, type ImageStep, MNN_GRAY } from "./image_steps.ts";
import type { ConfigOptions, InputConfig, Located, QuantConfig } from "./types.ts";

const clampValue = z.number().transform((v) => Math.trunc(v)).pipe(z.int().min(1).max(127));

/**
 * The keys MNN reads from imageInputConfig.json (the seed's table plus `center_crop_h/w`, `used_sample_num`,
 * `winogradOpt` and the `model` key of its example).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mnnJsonSchema } from "./mnn_json.ts";
 * assert.ok(mnnJsonSchema.safeParse({ path: "imgs/", format: "RGB" }).success);
 * assert.ok(!mnnJsonSchema.safeParse({ path: "imgs/", format: "YUV" }).success);
 * ```
 */
export const mnnJsonSchema = z.strictObject({
  format: z.enum(["RGB", "BGR", "RGBA", "BGRA", "GRAY"]).optional(),
  mean: z.array(z.number()).max(4).optional(),
  normal: z.array(z.number()).max(4).optional(),
  width: z.int().positive().optional(),
  height: z.int().positive().optional(),
  center_crop_h: z.number().gt(0).lte(1).optional(),
  center_crop_w: z.number().gt(0).lte(1).optional(),
  path: z.string().min(1),
  used_image_num: z.int().optional(),
  used_sample_num: z.int().optional(),
  feature_quantize_method: z.enum(["KL", "ADMM", "EMA"]).optional(),
  weight_quantize_method: z.enum(["MAX_ABS", "ADMM"]).optional(),
  feature_clamp_value: clampValue.optional(),
  weight_clamp_value: clampValue.optional(),
  batch_size: z.int().positive().optional(),
  quant_bits: z.int().min(2).max(8).optional(),
  skip_quant_op_names: z.array(z.string()).optional(),
  input_type: z.enum(["image", "sequence"]).optional(),
  debug: z.boolean().optional(),
  winogradOpt: z.boolean().optional(),
  model: z.string().optional(),
});

/**
 * Maps MNN's imageInputConfig.json onto the typed config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMnnJson } from "./mnn_json.ts";
 * const c = parseMnnJson('{"format":"BGR","mean":[103.94,116.78,123.68],"normal":[0.017,0.017,0.017],' +
 *   '"width":224,"height":224,"path":"../images/","used_image_num":2}', "mobilenet.json");
 * assert.equal(c.limit, 2);
 * assert.deepEqual(c.inputs[0]?.image?.pipeline.steps.at(-1), {
 *   op: "affine", mean: [103.94, 116.78, 123.68], scale: [0.017, 0.017, 0.017],
 * });
 * ```
 */
export function parseMnnJson(text: string, file: string): QuantConfig {
  const tree = parseTree(text, file);
  if (tree.value === null || typeof tree.value !== "object" || Array.isArray(tree.value)) {
    throw new ConfigError(file, 1, undefined, "expected a JSON object");
  }
  const j = validate(tree, mnnJsonSchema);
  const loc = <T>(value: T, key: string): Located<T> => ({ value, at: tree.spot([key]) });
  const notes: string[] = [];

  const format = j.format ?? "BGR";
  const channels = COLOR_CHANNELS[format];
  if ((j.width === undefined) !== (j.height === undefined)) {
    const missing = j.width === undefined ? "width" : "height";
    throw new ConfigError(file, tree.lineOf([]), missing, "is required when the other of width/height is given");
  }
  const steps: ImageStep[] = [{ op: "color", to: format, ...(format === "GRAY" ? { grayWeights: MNN_GRAY } : {}) }];
  if (j.center_crop_h !== undefined || j.center_crop_w !== undefined) {
    steps.push({ op: "crop_fraction", height: j.center_crop_h ?? 1, width: j.center_crop_w ?? 1, rounding: "mnn" });
  }
  if (j.width !== undefined && j.height !== undefined) {
    steps.push({ op: "resize", width: j.width, height: j.height, align: "corners" });
  }
  const mean = Array.from({ length: channels }, (_, c) => j.mean?.[c] ?? 0);
  const normal = Array.from({ length: channels }, (_, c) => j.normal?.[c] ?? 1);
  steps.push({ op: "affine", mean, scale: normal });

  const sequence = j.input_type === "sequence";
  const input: InputConfig = {
    at: { key: "", line: 1 },
    name: undefined,
    shape: undefined,
    layout: undefined,
    image: sequence ? undefined : {
      pipeline: { steps, fit: "corners" },
      size: j.width !== undefined && j.height !== undefined
        ? { value: { width: j.width, height: j.height }, at: tree.spot(["width"]) }
        : undefined,
      at: tree.spot(j.format !== undefined ? ["format"] : j.mean !== undefined ? ["mean"] : []),
    },
    source: { kind: sequence ? "sequence" : "images", path: loc(j.path, "path") },
  };

  const options: { -readonly [K in keyof ConfigOptions]: ConfigOptions[K] } = {};
  if (j.feature_quantize_method) options.method = j.feature_quantize_method;
  if (j.feature_quantize_method === "EMA") options.scheme = "asymmetric-uint8";
  if (j.weight_quantize_method) options.weightMethod = j.weight_quantize_method;
  if (j.feature_clamp_value !== undefined) options.featureClamp = j.feature_clamp_value;
  if (j.weight_clamp_value !== undefined) options.weightClamp = j.weight_clamp_value;
  if (j.quant_bits !== undefined) options.bits = j.quant_bits;
  if (j.winogradOpt !== undefined) notes.push("winogradOpt: an MNN kernel option with no ONNX equivalent; ignored");
  const onnxModel = j.model !== undefined && /\.onnx$/i.test(j.model);
  if (j.model !== undefined && !onnxModel) notes.push(`model "${j.model}" is not an ONNX file; using --model`);
  const limit = j.used_sample_num ?? j.used_image_num;

  return {
    file,
    dialect: "mnn-json",
    model: onnxModel ? loc(j.model!, "model") : undefined,
    inputs: [input],
    dataset: undefined,
    outputs: [],
    options,
    skip: (j.skip_quant_op_names ?? []).map((s, i) => ({ value: s, at: tree.spot(["skip_quant_op_names", i]) })),
    skipMayNameWeights: false,
    batchSize: j.batch_size,
    limit: limit !== undefined && limit > 0 ? limit : undefined,
    debug: j.debug ?? false,
    notes,
  };
}
