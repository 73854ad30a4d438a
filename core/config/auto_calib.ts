/**
 * Sophon auto_calib's calibration arguments (seed 003), read from a text file
 * holding its command line or just its `--key=value` arguments (shell quoting,
 * `\` continuations and `#` comments allowed; `--key value` and
 * `--key = value` too). What matters here:
 *
 * - `data_preproccess_str`: ops separated by `;`, params by `,`, multiple values by `:`
 *   (`resize_h=512,resize_w=512;mean_value=103.94:116.78:123.68,scale=1.0`); or a template through
 *   `image_data_preproccess` (vgg_tensorflow, ssd_vgg_tensorflow, ssd_inception_tensorflow). Images are read as
 *   BGR (OpenCV); ops run in the order written: `resize_h`/`resize_w`, `resize_side` (keep aspect), `crop_h`/`crop_w`
 *   (centre), `crop_fraction` (`tf.image.central_crop`), and `mean_value`/`scale`/`bgr2rgb`:
 *   `x = (x − mean) · scale` in the current (BGR) order, then the swap to RGB;
 * - `calib_image_source`: a folder or an ImageList.txt; `calib_iterations`: how many images (0: all);
 * - `input_data_shape` `(1,3,224,224);(4,1)` (also `[[1,3,416,416]]`) and `input_data_name` `(a);(b)`;
 *   `output_data_name` `a;b`; `model` when it is an ONNX file.
 *
 * Keys of the accuracy-test and search loop (test_*, accept_int8_decay, auto_calib, …) are read and ignored.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import type { ImageStep } from "./image_steps.ts";
import type { InputConfig, Located, QuantConfig, Spot } from "./types.ts";

/**
 * The predefined preprocessing templates of `image_data_preproccess`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PREPROCESS_TEMPLATES } from "./auto_calib.ts";
 * assert.ok(PREPROCESS_TEMPLATES.vgg_tensorflow?.startsWith("resize_side=256"));
 * ```
 */
export const PREPROCESS_TEMPLATES: Readonly<Record<string, string>> = {
  vgg_tensorflow: "resize_side=256;crop_h=224, crop_w=224;mean_value=103.94:116.78:123.68, scale=1.0, bgr2rgb=True",
  ssd_vgg_tensorflow: "resize_h=256,resize_w=256;mean_value=103.94:116.78:123.68, scale=1.0, bgr2rgb=True;" +
    "crop_h=224, crop_w=224",
  ssd_inception_tensorflow: "resize_h=256, resize_w=256;scale=0.003921568859368563;crop_fraction=0.875;" +
    "resize_h=224, resize_w=224;mean_value=0.5:0.5:0.5, scale=2.0, bgr2rgb=True",
};

const USED = new Set([
  "model",
  "data_preproccess_str",
  "image_data_preproccess",
  "calib_image_source",
  "calib_lmdb_path",
  "calib_iterations",
  "input_data_shape",
  "input_data_name",
  "output_data_name",
]);
const IGNORED = new Set([
  "weights",
  "test_iterations",
  "accept_int8_decay",
  "fp32_score",
  "test_lmdb_path",
  "test_image_source",
  "print_all_image_data_preproccess_detail",
  "auto_calib",
  "use_fp32umodel_only_calib",
  "calib_debug",
]);

/**
 * The keys that tell an auto_calib argument file from other configs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { looksLikeAutoCalib } from "./auto_calib.ts";
 * assert.ok(looksLikeAutoCalib("python3 calib.py --data_preproccess_str='scale=1.0'"));
 * assert.ok(!looksLikeAutoCalib("inputs: []"));
 * ```
 */
export function looksLikeAutoCalib(text: string): boolean {
  return /(^|\s)--(data_preproccess_str|image_data_preproccess|calib_image_source|calib_lmdb_path|input_data_shape)\b/
    .test(text);
}

interface Arg {
  value: string;
  line: number;
}

/**
 * Splits an argument file into `--key` → value (last one wins), shell-style.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseArgFile } from "./auto_calib.ts";
 * const args = parseArgFile("python3 x.py \\\n  --model='m.onnx' --calib_iterations 10\n--auto_calib = true\n", "a.txt");
 * assert.deepEqual([...args.keys()], ["model", "calib_iterations", "auto_calib"]);
 * assert.deepEqual(args.get("auto_calib"), { value: "true", line: 3 });
 * ```
 */
export function parseArgFile(text: string, file: string): Map<string, Arg> {
  const tokens: { text: string; line: number; quoted: boolean }[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "\\" && (text[i + 1] === "\n" || (text[i + 1] === "\r" && text[i + 2] === "\n"))) {
      i += text[i + 1] === "\n" ? 2 : 3;
      line++;
      continue;
    }
    if (ch === "\n") {
      line++;
      i++;
      continue;
    }
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === "#") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    const start = line;
    let s = "";
    let quoted = false;
    while (i < text.length && !/\s/.test(text[i]!)) {
      const c = text[i]!;
      if (c === "'" || c === '"') {
        if (s === "") quoted = true;
        const end = text.indexOf(c, i + 1);
        if (end < 0) throw new ConfigError(file, line, undefined, `syntax error: unterminated ${c} quote`);
        const inner = text.slice(i + 1, end);
        line += inner.split("\n").length - 1;
        s += inner;
        i = end + 1;
      } else if (c === "\\" && i + 1 < text.length && text[i + 1] !== "\n") {
        s += text[i + 1];
        i += 2;
      } else {
        s += c;
        i++;
      }
    }
    tokens.push({ text: s, line: start, quoted });
  }
  const args = new Map<string, Arg>();
  let k = tokens.findIndex((t) => !t.quoted && t.text.startsWith("--"));
  if (k < 0) return args;
  while (k < tokens.length) {
    const t = tokens[k]!;
    if (t.quoted || !t.text.startsWith("--")) {
      throw new ConfigError(file, t.line, undefined, `"${t.text}" is not a --key=value argument`);
    }
    const eq = t.text.indexOf("=");
    const key = (eq < 0 ? t.text.slice(2) : t.text.slice(2, eq)).trim();
    if (eq >= 0) {
      args.set(key, { value: t.text.slice(eq + 1), line: t.line });
      k++;
      continue;
    }
    let n = tokens[k + 1];
    if (n && !n.quoted && n.text === "=") {
      k++;
      n = tokens[k + 1];
    }
    if (n && (n.quoted || !n.text.startsWith("--"))) {
      args.set(key, { value: n.text, line: t.line });
      k += 2;
    } else {
      args.set(key, { value: "true", line: t.line });
      k++;
    }
  }
  return args;
}

/**
 * Turns a `data_preproccess_str` into preprocessing steps (images start as BGR). `at` names it in errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { preprocessSteps } from "./auto_calib.ts";
 * const at = { key: "data_preproccess_str", line: 1 };
 * assert.deepEqual(preprocessSteps("resize_h=512,resize_w=512;mean_value=103.94:116.78:123.68,scale=1.0", "a", at), [
 *   { op: "color", to: "BGR" },
 *   { op: "resize", width: 512, height: 512, align: "half-pixel" },
 *   { op: "affine", mean: [103.94, 116.78, 123.68], scale: [1] },
 * ]);
 * ```
 */
export function preprocessSteps(text: string, file: string, at: Spot): ImageStep[] {
  const fail = (problem: string): never => {
    throw ConfigError.at(file, at, problem);
  };
  const steps: ImageStep[] = [{ op: "color", to: "BGR" }];
  const ops = text.split(";").map((s) => s.trim()).filter((s) => s !== "");
  if (ops.length === 0) fail("is empty");
  ops.forEach((op, i) => {
    const params = new Map<string, string>();
    for (const part of op.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
      const eq = part.indexOf("=");
      if (eq < 0) fail(`op ${i + 1} "${op}": "${part}" is not name=value`);
      const name = part.slice(0, eq).trim();
      if (params.has(name)) fail(`op ${i + 1}: ${name} is given twice`);
      params.set(name, part.slice(eq + 1).trim());
    }
    const numbers = (name: string): number[] | undefined => {
      const v = params.get(name);
      if (v === undefined) return undefined;
      const list = v.split(":").map((s) => Number(s.trim()));
      if (list.some((x) => !Number.isFinite(x)) || v.trim() === "") fail(`${name}=${v} is not a number list`);
      return list;
    };
    const int = (name: string): number | undefined => {
      const list = numbers(name);
      if (list === undefined) return undefined;
      if (list.length !== 1 || !Number.isInteger(list[0]) || list[0]! < 1) fail(`${name} must be a positive integer`);
      return list[0];
    };
    const known = [
      "resize_h",
      "resize_w",
      "resize_side",
      "crop_h",
      "crop_w",
      "crop_fraction",
      "mean_value",
      "scale",
      "bgr2rgb",
    ];
    for (const name of params.keys()) {
      if (!known.includes(name)) fail(`unknown parameter "${name}" (known: ${known.join(", ")})`);
    }
    const rh = int("resize_h");
    const rw = int("resize_w");
    if ((rh === undefined) !== (rw === undefined)) fail(`op ${i + 1}: resize_h and resize_w go together`);
    if (rh !== undefined) steps.push({ op: "resize", width: rw!, height: rh, align: "half-pixel" });
    const side = int("resize_side");
    if (side !== undefined) steps.push({ op: "resize_shorter", side, align: "half-pixel" });
    const fraction = numbers("crop_fraction");
    if (fraction !== undefined) {
      if (fraction.length !== 1 || !(fraction[0]! > 0 && fraction[0]! <= 1)) fail("crop_fraction must be in (0, 1]");
      steps.push({ op: "crop_fraction", height: fraction[0]!, width: fraction[0]!, rounding: "tf" });
    }
    const ch = int("crop_h");
    const cw = int("crop_w");
    if ((ch === undefined) !== (cw === undefined)) fail(`op ${i + 1}: crop_h and crop_w go together`);
    if (ch !== undefined) steps.push({ op: "center_crop", width: cw!, height: ch });
    const mean = numbers("mean_value");
    const scale = numbers("scale");
    if (mean !== undefined || scale !== undefined) {
      if (mean && mean.length !== 1 && mean.length !== 3) fail(`mean_value has ${mean.length} values; give 1 or 3`);
      if (scale && scale.length !== 1 && scale.length !== 3) fail(`scale has ${scale.length} values; give 1 or 3`);
      steps.push({ op: "affine", mean: mean ?? [0], scale: scale ?? [1] });
    }
    const swap = params.get("bgr2rgb");
    if (swap !== undefined) {
      if (!/^(true|false)$/i.test(swap)) fail(`bgr2rgb must be True or False, got ${swap}`);
      if (/^true$/i.test(swap)) steps.push({ op: "color", to: "RGB" });
    }
  });
  return steps;
}

/**
 * Parses an `input_data_shape` value: `(1,3,224,224);(4,1)`, `[[1, 3, 416, 416]]` or `1,3,224,224`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseShapes } from "./auto_calib.ts";
 * assert.deepEqual(parseShapes("(4, 3, 224, 224);(4, 1)"), [[4, 3, 224, 224], [4, 1]]);
 * assert.deepEqual(parseShapes("[[1, 3, 416, 416]]"), [[1, 3, 416, 416]]);
 * ```
 */
export function parseShapes(text: string): number[][] | undefined {
  const groups = [...text.matchAll(/[([]([^()[\]]*)[)\]]/g)].map((m) => m[1]!);
  const parts = groups.length > 0 ? groups : [text];
  const shapes = parts.map((p) => p.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number));
  if (shapes.length === 0 || shapes.some((s) => s.length === 0 || s.some((d) => !Number.isInteger(d) || d < 1))) {
    return undefined;
  }
  return shapes;
}

/**
 * Maps an auto_calib argument file onto the typed config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAutoCalib } from "./auto_calib.ts";
 * const c = parseAutoCalib(
 *   "--image_data_preproccess=vgg_tensorflow --calib_image_source=imgs/ImageList.txt --input_data_shape='(1,3,224,224)'",
 *   "calib.args",
 * );
 * assert.equal(c.inputs[0]?.source?.kind, "images");
 * assert.deepEqual(c.inputs[0]?.image?.pipeline.steps.at(-1), { op: "color", to: "RGB" });
 * ```
 */
export function parseAutoCalib(text: string, file: string): QuantConfig {
  const args = parseArgFile(text, file);
  const spot = (key: string): Spot => ({ key, line: args.get(key)?.line });
  const notes: string[] = [];
  for (const [key, arg] of args) {
    if (USED.has(key)) continue;
    if (IGNORED.has(key)) notes.push(`--${key} (line ${arg.line}) concerns auto_calib's accuracy search; ignored`);
    else throw new ConfigError(file, arg.line, `--${key}`, "unknown auto_calib argument");
  }
  if (args.has("calib_lmdb_path")) {
    throw ConfigError.at(
      file,
      spot("calib_lmdb_path"),
      "LMDB calibration data is not read here; save the preprocessed arrays as .npy or 610 files (tensors:)",
    );
  }
  const source = args.get("calib_image_source");
  if (!source) {
    throw new ConfigError(file, undefined, "--calib_image_source", "is required (a folder or ImageList.txt)");
  }

  const template = args.get("image_data_preproccess");
  const custom = args.get("data_preproccess_str");
  let preprocess: { text: string; at: Spot };
  if (template && template.value !== "user_defined") {
    const t = PREPROCESS_TEMPLATES[template.value];
    if (t === undefined) {
      throw ConfigError.at(
        file,
        spot("image_data_preproccess"),
        `unknown template "${template.value}" (known: user_defined, ${Object.keys(PREPROCESS_TEMPLATES).join(", ")})`,
      );
    }
    if (custom) {
      throw ConfigError.at(file, spot("data_preproccess_str"), "give a template or data_preproccess_str, not both");
    }
    preprocess = { text: t, at: spot("image_data_preproccess") };
  } else if (custom) {
    preprocess = { text: custom.value, at: spot("data_preproccess_str") };
  } else {
    throw new ConfigError(
      file,
      undefined,
      "--data_preproccess_str",
      "is required with image_data_preproccess user_defined (the default)",
    );
  }
  const steps = preprocessSteps(preprocess.text, file, preprocess.at);

  const shapeArg = args.get("input_data_shape");
  const shapes = shapeArg ? parseShapes(shapeArg.value) : undefined;
  if (shapeArg && !shapes) {
    throw ConfigError.at(file, spot("input_data_shape"), `expected "(n,c,h,w);(…)", got "${shapeArg.value}"`);
  }
  const nameArg = args.get("input_data_name");
  const names = nameArg?.value.split(";").map((s) => s.replace(/[()'"\s]/g, "")).filter((s) => s !== "");
  if (names && shapes && names.length !== shapes.length) {
    throw ConfigError.at(
      file,
      spot("input_data_name"),
      `names ${names.length} inputs but input_data_shape gives ${shapes.length} shapes`,
    );
  }
  const count = Math.max(shapes?.length ?? 1, names?.length ?? 1);
  if (count > 1) {
    throw ConfigError.at(
      file,
      spot(shapes ? "input_data_shape" : "input_data_name"),
      `describes ${count} inputs, but calibration images feed one; auto_calib takes other inputs from LMDB`,
    );
  }
  const shape = shapes?.[0];
  const nhwc = shape?.length === 4 && [1, 3].includes(shape[3]!) && ![1, 3].includes(shape[1]!);
  const input: InputConfig = {
    at: preprocess.at,
    name: names?.[0] === undefined ? undefined : { value: names[0], at: spot("input_data_name") },
    shape: shape === undefined ? undefined : { value: shape, at: spot("input_data_shape") },
    layout: shape?.length === 4 ? { value: nhwc ? "NHWC" : "NCHW", at: spot("input_data_shape") } : undefined,
    image: { pipeline: { steps, fit: "none" }, size: undefined, at: preprocess.at },
    source: { kind: "images", path: { value: source.value, at: spot("calib_image_source") } },
  };
  const iterations = args.get("calib_iterations");
  let limit: number | undefined;
  if (iterations) {
    const n = Number(iterations.value);
    if (!Number.isInteger(n) || n < 0) {
      throw ConfigError.at(file, spot("calib_iterations"), `expected a whole number, got "${iterations.value}"`);
    }
    limit = n > 0 ? n : undefined;
  }
  const model = args.get("model");
  let modelPath: Located<string> | undefined;
  if (model && /\.onnx$/i.test(model.value)) modelPath = { value: model.value, at: spot("model") };
  else if (model) notes.push(`--model ${model.value} is not an ONNX file; using --model from the command line`);
  const outputs = args.get("output_data_name")?.value.split(";").map((s) => s.trim()).filter((s) => s !== "") ?? [];
  return {
    file,
    dialect: "auto-calib",
    model: modelPath,
    inputs: [input],
    dataset: undefined,
    outputs: outputs.map((o) => ({ value: o, at: spot("output_data_name") })),
    options: {},
    skip: [],
    skipMayNameWeights: false,
    batchSize: undefined,
    limit,
    debug: false,
    notes,
  };
}
