/**
 * MNN's Python offline quant tool (seed 000): `config.yaml` names the inputs
 * (`inputs.names`, `shapes`, `formats`) and outputs (`output_names`); the
 * samples come from a calibration dataset module. Its TypeScript equivalent
 * is `calibration_dataset.ts` beside the config (or `--dataset`), exporting
 * `calibrationDataset`: samples keyed by input name, without a batch axis.
 *
 * The tool calibrates with MNN's EMA (`nn.compress.train_quant`), which
 * quantizes activations asymmetrically, and its `--batch_size` defaults to 32.
 *
 * @module
 */

import * as z from "zod";
import { parseTree, validate } from "./_tree.ts";
import { ConfigError } from "./errors.ts";
import type { InputConfig, QuantConfig } from "./types.ts";

/**
 * The dataset module the Python tool imports, here in TypeScript, looked for beside the config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MNN_PYTHON_DATASET } from "./mnn_python.ts";
 * assert.equal(MNN_PYTHON_DATASET, "calibration_dataset.ts");
 * ```
 */
export const MNN_PYTHON_DATASET = "calibration_dataset.ts";

/**
 * `mnn_offline_quant.py --batch_size` default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MNN_PYTHON_BATCH } from "./mnn_python.ts";
 * assert.equal(MNN_PYTHON_BATCH, 32);
 * ```
 */
export const MNN_PYTHON_BATCH = 32;

const format = z.string().transform((s) => s.toLowerCase()).pipe(z.enum(["nchw", "nhwc", "nc4hw4"]));

/**
 * The schema of the Python tool's config.yaml.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mnnPythonSchema } from "./mnn_python.ts";
 * assert.ok(mnnPythonSchema.safeParse({ inputs: { names: ["input"] }, output_names: ["out"] }).success);
 * ```
 */
export const mnnPythonSchema = z.strictObject({
  inputs: z.strictObject({
    names: z.array(z.string().min(1)).min(1),
    shapes: z.array(z.array(z.int())).optional(),
    formats: z.array(format).optional(),
    dtypes: z.array(z.literal("float32")).optional(),
  }),
  output_names: z.array(z.string().min(1)).optional(),
});

/**
 * Maps the Python tool's config.yaml onto the typed config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMnnPythonYaml } from "./mnn_python.ts";
 * const c = parseMnnPythonYaml(
 *   "inputs:\n  names: ['input', ]\n  shapes: [[1, 3, 224, 224], ]\n  formats: ['nchw', ]\noutput_names: ['prob']\n",
 *   "config.yaml",
 * );
 * assert.equal(c.inputs[0]?.name?.value, "input");
 * assert.equal(c.options.method, "EMA");
 * assert.equal(c.dataset?.value, "calibration_dataset.ts");
 * ```
 */
export function parseMnnPythonYaml(text: string, file: string): QuantConfig {
  const tree = parseTree(text, file);
  const y = validate(tree, mnnPythonSchema);
  const n = y.inputs.names.length;
  for (const key of ["shapes", "formats", "dtypes"] as const) {
    const list = y.inputs[key];
    if (list && list.length !== n) {
      throw ConfigError.at(
        file,
        tree.spot(["inputs", key]),
        `has ${list.length} entries but inputs.names has ${n}; the lists go in the same order`,
      );
    }
  }
  const inputs: InputConfig[] = y.inputs.names.map((name, i) => {
    const shape = y.inputs.shapes?.[i];
    const fmt = y.inputs.formats?.[i];
    return {
      at: tree.spot(["inputs", "names", i]),
      name: { value: name, at: tree.spot(["inputs", "names", i]) },
      // The batch axis comes from --batch (stacked samples); the other axes are the placeholder's.
      shape: shape === undefined
        ? undefined
        : { value: shape.map((d, k) => (k === 0 || d <= 0 ? null : d)), at: tree.spot(["inputs", "shapes", i]) },
      layout: fmt === undefined
        ? undefined
        : { value: fmt === "nhwc" ? "NHWC" : "NCHW", at: tree.spot(["inputs", "formats", i]) },
      image: undefined,
      source: undefined,
    };
  });
  return {
    file,
    dialect: "mnn-python",
    model: undefined,
    inputs,
    dataset: { value: MNN_PYTHON_DATASET, at: { key: "calibration dataset module", line: undefined } },
    outputs: (y.output_names ?? []).map((o, i) => ({ value: o, at: tree.spot(["output_names", i]) })),
    options: { method: "EMA", scheme: "asymmetric-uint8" },
    skip: [],
    skipMayNameWeights: false,
    batchSize: MNN_PYTHON_BATCH,
    limit: undefined,
    debug: false,
    notes: [],
  };
}
