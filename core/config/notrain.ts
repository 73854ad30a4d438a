/**
 * The no-training quantizer's `config.prototxt` (seed 004), read as that
 * tool reads it:
 *
 * - `strategy` (only `Quant_INT8-8`), `device` (`USE_GPU`/`USE_CPU`: we always run ONNX Runtime on the CPU);
 * - `exclude_op` in both forms, `"conv1"` and `"conv2;conv3"`, mixed freely; for ONNX models a name is a weight
 *   (the ops reading it are kept in float) or an op; a name in neither is an error, as the seed says;
 * - one `preprocess_parameter` per model input, in model input order: `input_type` BINARY (a 610 or 510 file,
 *   used as is) or IMAGE (default; a folder of images read as three-channel BGR, converted to `image_format`,
 *   default BGR, then `image = (image − mean_value) / standard_deviation` on 0..255 values); `mean_value` has one
 *   value per channel (default 0); `standard_deviation` must be ≥ 0 and its default 0 means "not set" (no
 *   division). Images are resized to the model's size with OpenCV's bilinear sampling.
 *
 * The seed's `--input_format NHWC` is our `--layout NHWC`: it transposes IMAGE and 510 data to channels-last,
 * never 610 data.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import type { ImageStep } from "./image_steps.ts";
import { parsePrototxt, PrototxtSyntaxError, type TextField, type TextMessage, type TextScalar } from "./prototxt.ts";
import type { InputConfig, Located, QuantConfig } from "./types.ts";

type Kind = "string" | "number" | "enum";
interface FieldRule {
  kind: Kind;
  repeated: boolean;
  values?: readonly string[];
}

const TOP: Record<string, FieldRule> = {
  strategy: { kind: "string", repeated: false, values: ["Quant_INT8-8"] },
  device: { kind: "enum", repeated: false, values: ["USE_GPU", "USE_CPU"] },
  exclude_op: { kind: "string", repeated: true },
};
const PREPROCESS: Record<string, FieldRule> = {
  input_type: { kind: "enum", repeated: false, values: ["BINARY", "IMAGE"] },
  image_format: { kind: "enum", repeated: false, values: ["BGR", "RGB"] },
  mean_value: { kind: "number", repeated: true },
  standard_deviation: { kind: "number", repeated: true },
  input_file_path: { kind: "string", repeated: false },
};

/**
 * Maps a no-training quant config.prototxt onto the typed config. Syntax errors, unknown fields, wrong value
 * types, a negative standard deviation or a `mean_value` count other than the image's three channels are
 * {@link ConfigError}s naming the line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseNotrainPrototxt } from "./notrain.ts";
 * const c = parseNotrainPrototxt(
 *   'strategy: "Quant_INT8-8"\npreprocess_parameter: {\n  input_type: IMAGE\n  mean_value: 104.0\n' +
 *     '  mean_value: 113.0\n  mean_value: 123.0\n  standard_deviation: 0.5\n  input_file_path: "imgs/"\n}\n' +
 *     'exclude_op: "conv1"\nexclude_op: "conv2;conv3"\n',
 *   "config.prototxt",
 * );
 * assert.deepEqual(c.skip.map((s) => s.value), ["conv1", "conv2", "conv3"]);
 * assert.deepEqual(c.inputs[0]?.image?.pipeline.steps[1], { op: "affine", mean: [104, 113, 123], scale: [2] });
 * ```
 */
export function parseNotrainPrototxt(text: string, file: string): QuantConfig {
  let root: TextMessage;
  try {
    root = parsePrototxt(text);
  } catch (e) {
    if (e instanceof PrototxtSyntaxError) throw new ConfigError(file, e.line, undefined, `syntax error: ${e.message}`);
    throw e;
  }
  const fail = (line: number, key: string, problem: string): never => {
    throw new ConfigError(file, line, key, problem);
  };
  checkFields(root, TOP, "", fail);
  const notes: string[] = [];
  const skip: Located<string>[] = [];
  const inputs: InputConfig[] = [];
  for (const f of root.fields) {
    if (f.name === "device" && scalarText(f) === "USE_GPU") {
      notes.push(`device: USE_GPU (line ${f.line}): calibration runs on the CPU with ONNX Runtime`);
    } else if (f.name === "exclude_op") {
      const names = scalarText(f).split(";").map((s) => s.trim()).filter((s) => s !== "");
      if (names.length === 0) fail(f.line, "exclude_op", "names no op");
      for (const name of names) skip.push({ value: name, at: { key: "exclude_op", line: f.line } });
    } else if (f.name === "preprocess_parameter") {
      inputs.push(mapPreprocess(f, inputs.length, fail));
    }
  }
  if (inputs.length === 0) {
    fail(1, "preprocess_parameter", "is required: one block per model input, with its input_file_path");
  }
  return {
    file,
    dialect: "notrain-prototxt",
    model: undefined,
    inputs,
    dataset: undefined,
    outputs: [],
    options: {},
    skip,
    skipMayNameWeights: true,
    batchSize: undefined,
    limit: undefined,
    debug: false,
    notes,
  };
}

type Fail = (line: number, key: string, problem: string) => never;

function scalarText(f: TextField): string {
  return (f.value as TextScalar).text;
}

function checkFields(msg: TextMessage, rules: Record<string, FieldRule>, prefix: string, fail: Fail): void {
  const seen = new Map<string, number>();
  for (const f of msg.fields) {
    const key = prefix + f.name;
    if (f.name === "preprocess_parameter" && prefix === "") {
      if (f.value.kind !== "message") fail(f.line, key, "expected a { … } block");
      checkFields(f.value as TextMessage, PREPROCESS, "preprocess_parameter.", fail);
      continue;
    }
    const rule = rules[f.name];
    if (!rule) fail(f.line, key, "unknown field");
    const v = f.value;
    if (v.kind === "message") fail(f.line, key, "expected a value, got a { … } block");
    const s = v as TextScalar;
    if (rule!.kind === "number" && (s.kind !== "number" || !Number.isFinite(Number(s.text)))) {
      fail(f.line, key, `expected a number, got ${s.kind === "string" ? JSON.stringify(s.text) : s.text}`);
    }
    if (rule!.kind === "string" && s.kind !== "string" && !(rule!.values && s.kind === "ident")) {
      fail(f.line, key, `expected a quoted string, got ${s.text}`);
    }
    if (rule!.kind === "enum" && s.kind === "number") fail(f.line, key, `expected ${rule!.values!.join(" or ")}`);
    if (rule!.values && !rule!.values.includes(s.text)) {
      fail(f.line, key, `expected ${rule!.values.join(" or ")}, got ${s.text}`);
    }
    if (!rule!.repeated && seen.has(f.name)) fail(f.line, key, `is given twice (first on line ${seen.get(f.name)})`);
    seen.set(f.name, f.line);
  }
}

function mapPreprocess(block: TextField, index: number, fail: Fail): InputConfig {
  const msg = block.value as TextMessage;
  const get = (name: string) => msg.fields.filter((f) => f.name === name);
  const key = (name: string) => `preprocess_parameter[${index}].${name}`;
  const one = get("input_file_path")[0];
  if (!one) fail(block.line, key("input_file_path"), "is required");
  const path: Located<string> = { value: scalarText(one!), at: { key: key("input_file_path"), line: one!.line } };
  const type = get("input_type")[0];
  const at = { key: `preprocess_parameter[${index}]`, line: block.line };
  const base = { at, name: undefined, shape: undefined, layout: undefined } as const;
  if (type && scalarText(type) === "BINARY") {
    return { ...base, image: undefined, source: { kind: "tensors", path } };
  }
  const format = get("image_format")[0];
  const means = get("mean_value");
  const stds = get("standard_deviation");
  if (means.length > 0 && means.length !== 3) {
    fail(
      means[means.length - 1]!.line,
      key("mean_value"),
      `has ${means.length} value${means.length === 1 ? "" : "s"} but the input's C is 3 (IMAGE data is three-channel ${
        format ? scalarText(format) : "BGR"
      }): give one mean_value per channel`,
    );
  }
  for (const s of stds) {
    if (Number(scalarText(s)) < 0) fail(s.line, key("standard_deviation"), `must be ≥ 0, got ${scalarText(s)}`);
  }
  if (stds.length > 1 && stds.length !== 3) {
    fail(
      stds[stds.length - 1]!.line,
      key("standard_deviation"),
      `has ${stds.length} values; give one, or one per channel`,
    );
  }
  const std = stds.map((s) => Number(scalarText(s)));
  const steps: ImageStep[] = [
    { op: "color", to: format ? (scalarText(format) as "BGR" | "RGB") : "BGR" },
    {
      op: "affine",
      mean: means.length > 0 ? means.map((m) => Number(scalarText(m))) : [0],
      // The default standard_deviation 0.0 means "not set": no division.
      scale: std.length > 0 ? std.map((s) => (s === 0 ? 1 : 1 / s)) : [1],
    },
  ];
  return {
    ...base,
    image: { pipeline: { steps, fit: "half-pixel" }, size: undefined, at },
    source: { kind: "images", path },
  };
}
