/**
 * Our own config, `quant.yaml`: parsed with the `yaml` package, validated
 * with a zod schema (unknown keys and wrong types are errors naming the key
 * and its line) and mapped onto {@link QuantConfig}.
 *
 * Every key is documented in the README ("Config files").
 *
 * @module
 */

import * as z from "zod";
import { parseTree, type Tree, validate } from "./_tree.ts";
import { ConfigError } from "./errors.ts";
import type { ImagePipeline, ImageStep, ResizeAlign } from "./image_steps.ts";
import type { ConfigOptions, DataSource, ImageInput, InputConfig, Located, QuantConfig } from "./types.ts";

/**
 * Calibration method names a config may give (the pipeline reports those it does not implement yet).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CALIBRATION_METHODS } from "./quant_yaml.ts";
 * assert.ok(CALIBRATION_METHODS.includes("KL"));
 * ```
 */
export const CALIBRATION_METHODS = ["KL", "MINMAX", "MAX_ABS", "EMA", "ADMM", "PERCENTILE", "MSE"] as const;

const name = z.string().min(1);
const positiveInt = z.int().positive();
const numbers = z.array(z.number()).min(1);
const clamp = z.int().min(1).max(127);
const align = z.enum(["half-pixel", "corners"]);
const color = z.enum(["RGB", "BGR", "GRAY", "RGBA", "BGRA"]);
const fraction = z.number().gt(0).lte(1);
const grayWeights = z.tuple([z.number(), z.number(), z.number()]);
const method = z.string().transform((s) => s.toUpperCase()).pipe(z.enum(CALIBRATION_METHODS));

const step = z.discriminatedUnion("op", [
  z.strictObject({ op: z.literal("color"), to: color, gray_weights: grayWeights.optional() }),
  z.strictObject({ op: z.literal("resize"), width: positiveInt, height: positiveInt, align: align.optional() }),
  z.strictObject({ op: z.literal("resize_shorter"), side: positiveInt, align: align.optional() }),
  z.strictObject({ op: z.literal("center_crop"), width: positiveInt, height: positiveInt }),
  z.strictObject({
    op: z.literal("crop_fraction"),
    fraction: fraction.optional(),
    height: fraction.optional(),
    width: fraction.optional(),
    rounding: z.enum(["mnn", "tf"]).optional(),
  }),
  z.strictObject({ op: z.literal("affine"), mean: numbers, scale: numbers }),
]);

const preprocess = z.strictObject({
  color: color.optional(),
  gray_weights: grayWeights.optional(),
  crop_fraction: fraction.optional(),
  resize_shorter: positiveInt.optional(),
  resize: z.union([z.literal(false), z.strictObject({ width: positiveInt, height: positiveInt })]).optional(),
  crop: z.strictObject({ width: positiveInt, height: positiveInt }).optional(),
  align: align.optional(),
  pixel_range: z.union([z.literal(1), z.literal(255)]).optional(),
  mean: numbers.optional(),
  std: z.array(z.number().positive()).min(1).optional(),
  normal: numbers.optional(),
  steps: z.array(step).optional(),
  fit: z.enum(["half-pixel", "corners", "none"]).optional(),
});

const input = z.strictObject({
  name: name.optional(),
  shape: z.array(z.union([positiveInt, z.literal(-1), z.null(), z.string()])).min(1).optional(),
  layout: z.enum(["NCHW", "NHWC"]).optional(),
  images: name.optional(),
  tensors: name.optional(),
  sequence: name.optional(),
  npz_key: name.optional(),
  preprocess: preprocess.optional(),
});

/**
 * The schema of `quant.yaml` (snake_case keys, as the seed tools'), exported for documentation and tests.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantYamlSchema } from "./quant_yaml.ts";
 * assert.ok(quantYamlSchema.safeParse({ calibration: { method: "kl" } }).success);
 * assert.ok(!quantYamlSchema.safeParse({ bitz: 8 }).success);
 * ```
 */
export const quantYamlSchema = z.strictObject({
  model: name.optional(),
  inputs: z.array(input).min(1).optional(),
  dataset: name.optional(),
  outputs: z.array(name).optional(),
  calibration: z.strictObject({
    method: method.optional(),
    percentile: z.number().gt(0).lte(100).optional(),
    ema_decay: z.number().gt(0).lt(1).optional(),
    ema_batch_size: positiveInt.optional(),
    bins: positiveInt.optional(),
    batch_size: positiveInt.optional(),
    limit: positiveInt.optional(),
  }).optional(),
  weights: z.strictObject({
    method: z.enum(["MAX_ABS", "ADMM"]).optional(),
    per_channel: z.boolean().optional(),
    clamp: clamp.optional(),
  }).optional(),
  activations: z.strictObject({
    scheme: z.enum(["symmetric", "asymmetric"]).optional(),
    clamp: clamp.optional(),
  }).optional(),
  bits: z.int().min(2).max(8).optional(),
  skip: z.array(name).optional(),
  debug: z.boolean().optional(),
  threads: positiveInt.optional(),
});

type InputYaml = z.output<typeof input>;
type PreprocessYaml = z.output<typeof preprocess>;
type StepYaml = z.output<typeof step>;

/**
 * Parses `quant.yaml` text into the typed config. `file` names the file in errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseQuantYaml } from "./quant_yaml.ts";
 * const config = parseQuantYaml(
 *   "inputs:\n  - images: imgs/\n    preprocess: { color: BGR, mean: [0.5], std: [0.25] }\ncalibration: { method: minmax }\n",
 *   "quant.yaml",
 * );
 * assert.equal(config.options.method, "MINMAX");
 * assert.deepEqual(config.inputs[0]?.image?.pipeline.steps, [
 *   { op: "color", to: "BGR" },
 *   { op: "affine", mean: [127.5], scale: [1 / (255 * 0.25)] },
 * ]);
 * assert.throws(() => parseQuantYaml("bits: 8\nbitz: 8\n", "q.yaml"), /q\.yaml line 2: bitz: unknown key/);
 * ```
 */
export function parseQuantYaml(text: string, file: string): QuantConfig {
  const tree = parseTree(text, file);
  if (tree.value === null || tree.value === undefined) throw new ConfigError(file, 1, undefined, "the file is empty");
  const y = validate(tree, quantYamlSchema);
  const loc = <T>(value: T, ...path: (string | number)[]): Located<T> => ({ value, at: tree.spot(path) });

  if (!y.inputs && !y.dataset) {
    throw new ConfigError(file, tree.lineOf([]), "inputs", "is required (or give dataset: a calibration module)");
  }
  const inputs = (y.inputs ?? []).map((inp, i) => mapInput(tree, inp, i, y.dataset !== undefined));
  const options: {
    -readonly [K in keyof ConfigOptions]: ConfigOptions[K];
  } = {};
  const c = y.calibration;
  if (c?.method) options.method = c.method;
  const methodOptions: NonNullable<ConfigOptions["methodOptions"]> = {};
  if (c?.percentile !== undefined) methodOptions.percentile = c.percentile;
  if (c?.ema_decay !== undefined) methodOptions.emaDecay = c.ema_decay;
  if (c?.bins !== undefined) methodOptions.bins = c.bins;
  // Without ema_batch_size, EMA averages over the calibration batches (set when the job knows the batch size).
  if (c?.ema_batch_size !== undefined) methodOptions.emaBatchSize = c.ema_batch_size;
  if (Object.keys(methodOptions).length > 0) options.methodOptions = methodOptions;
  if (y.weights?.method) options.weightMethod = y.weights.method;
  if (y.weights?.per_channel !== undefined) options.perChannel = y.weights.per_channel;
  if (y.weights?.clamp !== undefined) options.weightClamp = y.weights.clamp;
  if (y.activations?.clamp !== undefined) options.featureClamp = y.activations.clamp;
  if (y.activations?.scheme) {
    options.scheme = y.activations.scheme === "symmetric" ? "symmetric-int8" : "asymmetric-uint8";
  }
  if (y.bits !== undefined) options.bits = y.bits;
  if (y.threads !== undefined) options.threads = y.threads;

  return {
    file,
    dialect: "quant-yaml",
    model: y.model === undefined ? undefined : loc(y.model, "model"),
    inputs,
    dataset: y.dataset === undefined ? undefined : loc(y.dataset, "dataset"),
    outputs: (y.outputs ?? []).map((o, i) => loc(o, "outputs", i)),
    options,
    skip: (y.skip ?? []).map((s, i) => loc(s, "skip", i)),
    skipMayNameWeights: false,
    batchSize: c?.batch_size,
    limit: c?.limit,
    debug: y.debug ?? false,
    notes: [],
  };
}

function mapInput(tree: Tree, inp: InputYaml, i: number, hasDataset: boolean): InputConfig {
  const base: (string | number)[] = ["inputs", i];
  const at = (...rest: (string | number)[]) => tree.spot([...base, ...rest]);
  const given = (["images", "tensors", "sequence"] as const).filter((k) => inp[k] !== undefined);
  if (given.length > 1) {
    throw ConfigError.at(tree.file, at(given[1]!), `give one data source per input, not ${given.join(" and ")}`);
  }
  const kind = given[0];
  if (!kind && !hasDataset) {
    throw ConfigError.at(tree.file, at(), "needs a data source: images, tensors or sequence (or a top-level dataset)");
  }
  if (kind && hasDataset) {
    throw ConfigError.at(tree.file, at(kind), "the top-level dataset already feeds every input");
  }
  if (inp.preprocess && kind !== "images") {
    throw ConfigError.at(tree.file, at("preprocess"), "applies to images only");
  }
  if (inp.npz_key && kind !== "tensors") throw ConfigError.at(tree.file, at("npz_key"), "applies to tensors only");
  let source: DataSource | undefined;
  if (kind === "tensors") {
    source = { kind, path: { value: inp.tensors!, at: at(kind) }, ...(inp.npz_key ? { key: inp.npz_key } : {}) };
  } else if (kind) {
    source = { kind, path: { value: inp[kind]!, at: at(kind) } };
  }
  const image: ImageInput | undefined = kind === "images"
    ? {
      pipeline: mapPreprocess(tree, inp.preprocess ?? {}, [...base, "preprocess"]),
      size: undefined,
      at: at("preprocess"),
    }
    : undefined;
  const shape = inp.shape?.map((d) => (typeof d === "number" && d > 0 ? d : null));
  return {
    at: at(),
    name: inp.name === undefined ? undefined : { value: inp.name, at: at("name") },
    shape: shape === undefined ? undefined : { value: shape, at: at("shape") },
    layout: inp.layout === undefined ? undefined : { value: inp.layout, at: at("layout") },
    image,
    source,
  };
}

const SHORTHAND = [
  "color",
  "gray_weights",
  "crop_fraction",
  "resize_shorter",
  "resize",
  "crop",
  "pixel_range",
  "mean",
  "std",
  "normal",
] as const;

/**
 * The shorthand keys in the order they run: colour, `crop_fraction`, `resize_shorter`, `resize`, `crop`, then
 * the affine from `mean` with `std` (`(x − mean) / std`) or `normal` (`(x − mean) · normal`) on the
 * `pixel_range` scale (1: pixels / 255 as our `--mean/--std`; 255: raw pixels as MNN and OpenCV tools).
 */
function mapPreprocess(tree: Tree, p: PreprocessYaml, path: (string | number)[]): ImagePipeline {
  const spot = (k: string) => tree.spot([...path, k]);
  const alignOf = (a: ResizeAlign | undefined): ResizeAlign => a ?? p.align ?? "half-pixel";
  const fit = p.fit ?? (p.resize === false ? "none" : alignOf(undefined));
  if (p.steps) {
    const mixed = SHORTHAND.find((k) => p[k] !== undefined);
    if (mixed) throw ConfigError.at(tree.file, spot(mixed), "give either steps or the shorthand keys, not both");
    return { steps: p.steps.map((s) => mapStep(s, alignOf)), fit };
  }
  if (p.std && p.normal) throw ConfigError.at(tree.file, spot("normal"), "give std or normal, not both");
  const steps: ImageStep[] = [{
    op: "color",
    to: p.color ?? "RGB",
    ...(p.gray_weights ? { grayWeights: p.gray_weights } : {}),
  }];
  if (p.crop_fraction !== undefined) {
    steps.push({ op: "crop_fraction", height: p.crop_fraction, width: p.crop_fraction, rounding: "tf" });
  }
  if (p.resize_shorter !== undefined) {
    steps.push({ op: "resize_shorter", side: p.resize_shorter, align: alignOf(undefined) });
  }
  if (p.resize) steps.push({ op: "resize", width: p.resize.width, height: p.resize.height, align: alignOf(undefined) });
  if (p.crop) steps.push({ op: "center_crop", width: p.crop.width, height: p.crop.height });
  const range = p.pixel_range ?? 1;
  const k = 255 / range; // our values are raw 0..255 pixels
  if (p.mean || p.std || p.normal) {
    const mean = (p.mean ?? [0]).map((m) => m * k);
    const scale = p.std ? p.std.map((s) => 1 / (s * k)) : (p.normal ?? [1]).map((n) => n / k);
    steps.push({ op: "affine", mean, scale });
  } else if (range === 1) {
    steps.push({ op: "affine", mean: [0], scale: [1 / 255] });
  }
  return { steps, fit };
}

function mapStep(s: StepYaml, alignOf: (a: ResizeAlign | undefined) => ResizeAlign): ImageStep {
  switch (s.op) {
    case "color":
      return { op: "color", to: s.to, ...(s.gray_weights ? { grayWeights: s.gray_weights } : {}) };
    case "resize":
      return { op: "resize", width: s.width, height: s.height, align: alignOf(s.align) };
    case "resize_shorter":
      return { op: "resize_shorter", side: s.side, align: alignOf(s.align) };
    case "center_crop":
      return { op: "center_crop", width: s.width, height: s.height };
    case "crop_fraction": {
      const f = s.fraction ?? 1;
      return { op: "crop_fraction", height: s.height ?? f, width: s.width ?? f, rounding: s.rounding ?? "tf" };
    }
    case "affine":
      return { op: "affine", mean: s.mean, scale: s.scale };
  }
}
