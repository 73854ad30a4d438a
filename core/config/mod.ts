/**
 * Config files of every supported dialect, parsed and mapped onto one typed
 * {@link QuantConfig}: our `quant.yaml`, MNN imageInputConfig.json, MNN Python
 * offline quant config.yaml, the no-training tool's config.prototxt and Sophon
 * auto_calib arguments. The dialect is recognised from the content, not the
 * file name. Pure: text in, data out.
 *
 * @module
 */

import { looksLikeAutoCalib, parseAutoCalib } from "./auto_calib.ts";
import { ConfigError } from "./errors.ts";
import { parseMnnJson } from "./mnn_json.ts";
import { parseMnnPythonYaml } from "./mnn_python.ts";
import { parseNotrainPrototxt } from "./notrain.ts";
import { parseQuantYaml } from "./quant_yaml.ts";
import { parseTree } from "./_tree.ts";
import { type Dialect, DIALECT_NAMES, type QuantConfig } from "./types.ts";

export { ConfigError } from "./errors.ts";
export * from "./types.ts";
export * from "./image_steps.ts";
export { CALIBRATION_METHODS, parseQuantYaml, quantYamlSchema } from "./quant_yaml.ts";
export { mnnJsonSchema, parseMnnJson } from "./mnn_json.ts";
export { MNN_PYTHON_BATCH, MNN_PYTHON_DATASET, mnnPythonSchema, parseMnnPythonYaml } from "./mnn_python.ts";
export { parseNotrainPrototxt } from "./notrain.ts";
export { parsePrototxt, PrototxtSyntaxError, type TextField, type TextMessage, type TextScalar } from "./prototxt.ts";
export { parseArgFile, parseAutoCalib, parseShapes, PREPROCESS_TEMPLATES, preprocessSteps } from "./auto_calib.ts";

const MNN_JSON_KEYS = [
  "path",
  "format",
  "mean",
  "normal",
  "width",
  "height",
  "used_image_num",
  "used_sample_num",
  "feature_quantize_method",
  "weight_quantize_method",
  "feature_clamp_value",
  "weight_clamp_value",
  "skip_quant_op_names",
  "quant_bits",
  "input_type",
];

/**
 * Tells the dialect of a config from its text: a JSON object with MNN's keys is MNN imageInputConfig.json; a
 * text with auto_calib's `--data_preproccess_str`-style arguments is Sophon's; `preprocess_parameter` blocks make
 * the no-training tool's prototxt; YAML whose `inputs` has `names` (or with `output_names`) is MNN Python's
 * config.yaml; any other YAML is ours.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectDialect } from "./mod.ts";
 * assert.equal(detectDialect('{ "path": "imgs/", "format": "RGB" }', "c.json"), "mnn-json");
 * assert.equal(detectDialect("inputs:\n  names: [input]\n", "config.yaml"), "mnn-python");
 * assert.equal(detectDialect("preprocess_parameter {\n input_file_path: 'a'\n}\n", "x.cfg"), "notrain-prototxt");
 * assert.equal(detectDialect("--data_preproccess_str='scale=1.0'", "run.sh"), "auto-calib");
 * assert.equal(detectDialect("inputs:\n  - images: imgs/\n", "quant.yaml"), "quant-yaml");
 * ```
 */
export function detectDialect(text: string, file: string): Dialect {
  const body = text.replace(/^\uFEFF/, "");
  if (/^\s*preprocess_parameter\s*:?\s*(\{|<|$)/m.test(body)) return "notrain-prototxt";
  if (looksLikeAutoCalib(body)) return "auto-calib";
  if (body.trim() === "") throw new ConfigError(file, 1, undefined, "the config file is empty");
  const tree = parseTree(body, file);
  const v = tree.value;
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const keys = Object.keys(v);
    const inputs = (v as Record<string, unknown>).inputs;
    if (/^\s*\{/.test(body) && keys.some((k) => MNN_JSON_KEYS.includes(k)) && !("inputs" in v)) return "mnn-json";
    if (
      "output_names" in v ||
      (inputs !== null && typeof inputs === "object" && !Array.isArray(inputs) && "names" in inputs)
    ) {
      return "mnn-python";
    }
    if (keys.some((k) => MNN_JSON_KEYS.includes(k) && k !== "path") && !("inputs" in v) && !("dataset" in v)) {
      return "mnn-json";
    }
    return "quant-yaml";
  }
  throw new ConfigError(
    file,
    1,
    undefined,
    `cannot tell the config dialect: expected one of ${Object.values(DIALECT_NAMES).join(", ")}`,
  );
}

const PARSERS: Readonly<Record<Dialect, (text: string, file: string) => QuantConfig>> = {
  "quant-yaml": parseQuantYaml,
  "mnn-json": parseMnnJson,
  "mnn-python": parseMnnPythonYaml,
  "notrain-prototxt": parseNotrainPrototxt,
  "auto-calib": parseAutoCalib,
};

/**
 * Parses a config of any dialect (detected by {@link detectDialect}) into the typed config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./mod.ts";
 * const c = parseConfig('{"format":"GRAY","path":"imgs/","width":28,"height":28}', "mnist.json");
 * assert.equal(c.dialect, "mnn-json");
 * assert.equal(c.inputs[0]?.source?.path.value, "imgs/");
 * ```
 */
export function parseConfig(text: string, file: string): QuantConfig {
  return PARSERS[detectDialect(text, file)](text.replace(/^\uFEFF/, ""), file);
}
