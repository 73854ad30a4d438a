/**
 * The one typed configuration every dialect is mapped onto (`quant.yaml`,
 * MNN imageInputConfig.json, MNN Python config.yaml, the no-training tool's
 * config.prototxt, Sophon auto_calib arguments). Values that are later checked
 * against the model keep the place they were written ({@link Spot}), so that
 * error can still name the file, key and line.
 *
 * Paths are kept as written; the CLI resolves them relative to the config file.
 *
 * @module
 */

import type { ActivationScheme } from "../quant/params.ts";
import type { ImageLayout } from "../preprocess.ts";
import type { ImagePipeline } from "./image_steps.ts";

/**
 * The config dialects understood.
 *
 * @example
 * ```ts
 * import type { Dialect } from "./types.ts";
 * const d: Dialect = "mnn-json";
 * ```
 */
export type Dialect = "quant-yaml" | "mnn-json" | "mnn-python" | "notrain-prototxt" | "auto-calib";

/**
 * Human names of the dialects, for messages.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DIALECT_NAMES } from "./types.ts";
 * assert.equal(DIALECT_NAMES["mnn-json"], "MNN imageInputConfig.json");
 * ```
 */
export const DIALECT_NAMES: Readonly<Record<Dialect, string>> = {
  "quant-yaml": "quant.yaml",
  "mnn-json": "MNN imageInputConfig.json",
  "mnn-python": "MNN Python offline quant config.yaml",
  "notrain-prototxt": "no-training quant config.prototxt",
  "auto-calib": "Sophon auto_calib arguments",
};

/**
 * Where a value was written: the key path as the dialect spells it and the 1-based line, when known.
 *
 * @example
 * ```ts
 * import type { Spot } from "./types.ts";
 * const at: Spot = { key: "inputs[0].layout", line: 7 };
 * ```
 */
export interface Spot {
  readonly key: string;
  readonly line: number | undefined;
}

/**
 * A value with the place it was written.
 *
 * @example
 * ```ts
 * import type { Located } from "./types.ts";
 * const skip: Located<string> = { value: "conv1", at: { key: "skip[0]", line: 12 } };
 * ```
 */
export interface Located<T> {
  readonly value: T;
  readonly at: Spot;
}

/**
 * Where one input's calibration data comes from.
 *
 * - `images`: a folder of images, or a text file listing one image path per line (Sophon's ImageList.txt);
 * - `tensors`: a BINARY file (magic 610 or 510), `.npy` or `.npz`, told apart by their first bytes; the first
 *   axis counts samples; `key` picks the array of an `.npz` (default: the input's name, or its only array);
 * - `sequence`: a folder of MNN "sequence" `.txt` files (one line of numbers per channel).
 *
 * @example
 * ```ts
 * import type { DataSource } from "./types.ts";
 * const source: DataSource = { kind: "tensors", path: { value: "data/image.bin", at: { key: "path", line: 3 } } };
 * ```
 */
export type DataSource =
  | { readonly kind: "images"; readonly path: Located<string> }
  | { readonly kind: "tensors"; readonly path: Located<string>; readonly key?: string }
  | { readonly kind: "sequence"; readonly path: Located<string> };

/**
 * Image preprocessing of one input, with the size the config asks for (MNN `width`/`height`), if any.
 *
 * @example
 * ```ts
 * import type { ImageInput } from "./types.ts";
 * const image: ImageInput = {
 *   pipeline: { steps: [{ op: "color", to: "RGB" }], fit: "half-pixel" },
 *   size: undefined,
 *   at: { key: "inputs[0].preprocess", line: 5 },
 * };
 * ```
 */
export interface ImageInput {
  readonly pipeline: ImagePipeline;
  /** Output size the config fixes; checked against the model's. */
  readonly size: Located<{ width: number; height: number }> | undefined;
  readonly at: Spot;
}

/**
 * One model input.
 *
 * @example
 * ```ts
 * import type { InputConfig } from "./types.ts";
 * const input: InputConfig = {
 *   at: { key: "inputs[1]", line: 9 },
 *   name: { value: "vector", at: { key: "inputs[1].name", line: 9 } },
 *   shape: undefined,
 *   layout: undefined,
 *   image: undefined,
 *   source: { kind: "tensors", path: { value: "vector.bin", at: { key: "inputs[1].tensors", line: 10 } } },
 * };
 * ```
 */
export interface InputConfig {
  readonly at: Spot;
  /** Input name; `undefined`: the model's input at the same position. */
  readonly name: Located<string> | undefined;
  /** Shape including the batch axis; `null` leaves a dimension to the model / the data. */
  readonly shape: Located<readonly (number | null)[]> | undefined;
  /** Memory layout of an image or 510 input; `undefined`: inferred from the model's shape. */
  readonly layout: Located<ImageLayout> | undefined;
  /** Preprocessing when the source is images. */
  readonly image: ImageInput | undefined;
  /** `undefined` when a dataset module feeds every input. */
  readonly source: DataSource | undefined;
}

/**
 * Quantization settings a config may set; anything left out keeps the tool's default (or a command-line flag).
 *
 * @example
 * ```ts
 * import type { ConfigOptions } from "./types.ts";
 * const o: ConfigOptions = { method: "KL", featureClamp: 120 };
 * ```
 */
export interface ConfigOptions {
  readonly method?: string;
  readonly methodOptions?: { percentile?: number; emaBatchSize?: number; emaDecay?: number; bins?: number };
  readonly weightMethod?: "MAX_ABS" | "ADMM";
  readonly bits?: number;
  readonly featureClamp?: number;
  readonly weightClamp?: number;
  readonly perChannel?: boolean;
  readonly scheme?: ActivationScheme;
  readonly threads?: number;
}

/**
 * A whole configuration, whatever dialect it was written in.
 *
 * @example
 * ```ts
 * import type { QuantConfig } from "./types.ts";
 * const minimal: QuantConfig = {
 *   file: "quant.yaml",
 *   dialect: "quant-yaml",
 *   model: undefined,
 *   inputs: [],
 *   dataset: undefined,
 *   outputs: [],
 *   options: {},
 *   skip: [],
 *   skipMayNameWeights: false,
 *   batchSize: undefined,
 *   limit: undefined,
 *   debug: false,
 *   notes: [],
 * };
 * ```
 */
export interface QuantConfig {
  /** The config file, as given (for messages). */
  readonly file: string;
  readonly dialect: Dialect;
  /** Model path from the config, if it names an ONNX model. */
  readonly model: Located<string> | undefined;
  /** Inputs in model order (a dialect that names none lists them positionally). */
  readonly inputs: readonly InputConfig[];
  /** A TypeScript dataset module feeding every input (MNN Python's calibration_dataset). */
  readonly dataset: Located<string> | undefined;
  /** Output names the config lists; each must exist in the model. */
  readonly outputs: readonly Located<string>[];
  readonly options: ConfigOptions;
  /** Ops (or tensors) kept in float. */
  readonly skip: readonly Located<string>[];
  /** The no-training tool names ONNX ops by their weight: a weight name selects the ops reading it. */
  readonly skipMayNameWeights: boolean;
  /** Calibration batch size for dynamic-batch models. */
  readonly batchSize: number | undefined;
  /** Use only the first N samples. */
  readonly limit: number | undefined;
  /** Print every tensor's float-vs-int8 cosine and overflow rate (MNN `debug`). */
  readonly debug: boolean;
  /** Keys read but without effect here (e.g. `device: USE_GPU`), to tell the user. */
  readonly notes: readonly string[];
}
