/**
 * The TypeScript equivalent of MNN's `calibration_dataset.py`: a module
 * exporting `calibrationDataset` (or `calibration_dataset`), an (async)
 * iterable of samples, or a function returning one, called once per pass.
 *
 * A sample maps input names to tensors without a batch axis:
 * `{ image: { data: Float32Array | number[], dims: [3, 16, 16] }, … }`. A list
 * of tensors in config input order is accepted too (the Python tool's
 * `[dv]`). A tensor may say `layout: "NHWC"` (MNN's `F.data_format.NHWC`):
 * a 3-D sample is then transposed to the input's layout. A bare `Float32Array`
 * takes the input's (fixed) dims.
 *
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { HostTensor } from "../../core/exec/executor.ts";
import type { ImageLayout } from "../../core/preprocess.ts";
import { DataError } from "../images.ts";

/**
 * One sample as a dataset module may yield it.
 *
 * @example
 * ```ts
 * import type { DatasetSample } from "./dataset_module.ts";
 * const s: DatasetSample = { vector: { data: [1, 2, 3, 4], dims: [4] } };
 * ```
 */
export type DatasetSample =
  | Record<string, DatasetTensor>
  | readonly DatasetTensor[];

/**
 * One tensor of a sample.
 *
 * @example
 * ```ts
 * import type { DatasetTensor } from "./dataset_module.ts";
 * const hwc: DatasetTensor = { data: new Float32Array(12), dims: [2, 2, 3], layout: "NHWC" };
 * ```
 */
export type DatasetTensor =
  | { readonly data: ArrayLike<number>; readonly dims: readonly number[]; readonly layout?: ImageLayout }
  | Float32Array;

/**
 * A loaded dataset module: re-iterable samples keyed by input name.
 *
 * @example
 * ```ts ignore
 * const dataset = await loadDatasetModule("calibration_dataset.ts", inputs);
 * for await (const sample of dataset.samples()) console.log(Object.keys(sample));
 * ```
 */
export interface DatasetModule {
  readonly description: string;
  /** Number of samples, when the export tells (`length`). */
  readonly count: number | undefined;
  samples(): AsyncIterable<Record<string, HostTensor>>;
}

/**
 * What the loader needs to know of each input.
 *
 * @example
 * ```ts
 * import type { DatasetInput } from "./dataset_module.ts";
 * const image: DatasetInput = { name: "image", layout: "NCHW", sampleDims: [3, 16, 16] };
 * ```
 */
export interface DatasetInput {
  readonly name: string;
  readonly layout: ImageLayout;
  /** Fixed non-batch dims, when all are known (for bare Float32Array samples). */
  readonly sampleDims: readonly number[] | undefined;
}

type AnyIterable = Iterable<unknown> | AsyncIterable<unknown>;

function iterableOf(value: unknown): AnyIterable | undefined {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return undefined;
  const v = value as Record<symbol, unknown>;
  if (typeof v[Symbol.asyncIterator] === "function" || typeof v[Symbol.iterator] === "function") {
    return value as AnyIterable;
  }
  return undefined;
}

/**
 * Imports a dataset module and checks its export; samples are checked as they are read (each error names the
 * module, the sample index and the input).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadDatasetModule } from "./dataset_module.ts";
 * const path = await Deno.makeTempFile({ suffix: ".ts" });
 * await Deno.writeTextFile(path, "export const calibrationDataset = [{ x: { data: [1, 2], dims: [2] } }];\n");
 * const ds = await loadDatasetModule(path, [{ name: "x", layout: "NCHW", sampleDims: [2] }]);
 * for await (const s of ds.samples()) assert.deepEqual(s.x?.dims, [2]);
 * await Deno.remove(path);
 * ```
 */
export async function loadDatasetModule(path: string, inputs: readonly DatasetInput[]): Promise<DatasetModule> {
  let mod: Record<string, unknown>;
  try {
    await Deno.stat(path);
  } catch {
    throw new DataError(`Calibration dataset module not found: ${path}`);
  }
  try {
    mod = await import(pathToFileURL(resolve(path)).href);
  } catch (e) {
    throw new DataError(
      `Cannot load calibration dataset module ${path}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const exported = mod.calibrationDataset ?? mod.calibration_dataset;
  if (exported === undefined) {
    throw new DataError(`${path} exports no calibrationDataset (nor calibration_dataset)`);
  }
  const fresh = async (): Promise<AnyIterable> => {
    const value = typeof exported === "function" && !iterableOf(exported) ? await exported() : exported;
    const it = iterableOf(value);
    if (!it) throw new DataError(`${path}: calibrationDataset must be an (async) iterable of samples or return one`);
    return it;
  };
  const first = await fresh();
  if (typeof exported !== "function") {
    const sym = Symbol.asyncIterator in first ? Symbol.asyncIterator : Symbol.iterator;
    const probe = (first as unknown as Record<symbol, () => unknown>)[sym]!();
    if (probe === first) {
      throw new DataError(
        `${path}: calibrationDataset is a one-shot generator, but calibration reads the data more than once; ` +
          "export the generator function itself, or an array",
      );
    }
  }
  const length = (exported as { length?: unknown }).length;
  const count = typeof exported !== "function" && typeof length === "number" ? length : undefined;
  return {
    description: `${path}${count === undefined ? "" : ` (${count} samples)`}`,
    count,
    async *samples() {
      let index = 0;
      for await (const raw of await fresh()) {
        yield normalizeSample(raw, index++, inputs, path);
      }
    },
  };
}

function normalizeSample(
  raw: unknown,
  index: number,
  inputs: readonly DatasetInput[],
  path: string,
): Record<string, HostTensor> {
  const where = `${path}: sample ${index}`;
  let entries: [DatasetInput, unknown][];
  if (Array.isArray(raw)) {
    if (raw.length !== inputs.length) {
      throw new DataError(`${where} lists ${raw.length} tensors but the model has ${inputs.length} inputs`);
    }
    entries = inputs.map((inp, i) => [inp, raw[i]]);
  } else if (raw !== null && typeof raw === "object" && !(raw instanceof Float32Array)) {
    const rec = raw as Record<string, unknown>;
    const unknown = Object.keys(rec).filter((k) => !inputs.some((i) => i.name === k));
    if (unknown.length > 0) {
      throw new DataError(
        `${where} has "${unknown[0]}", not an input of the model (${inputs.map((i) => i.name).join(", ")})`,
      );
    }
    entries = inputs.map((inp) => [inp, rec[inp.name]]);
  } else if (inputs.length === 1) {
    entries = [[inputs[0]!, raw]];
  } else {
    throw new DataError(`${where} must map input names to tensors`);
  }
  const out: Record<string, HostTensor> = {};
  for (const [input, value] of entries) out[input.name] = toTensor(value, input, `${where}, input "${input.name}"`);
  return out;
}

function toTensor(value: unknown, input: DatasetInput, where: string): HostTensor {
  if (value === undefined) throw new DataError(`${where} is missing`);
  let data: Float32Array;
  let dims: number[];
  let layout: ImageLayout | undefined;
  if (value instanceof Float32Array) {
    if (!input.sampleDims) throw new DataError(`${where}: a bare array needs fixed input dims; give { data, dims }`);
    data = value;
    dims = [...input.sampleDims];
  } else if (value !== null && typeof value === "object" && "data" in value && "dims" in value) {
    const v = value as { data: unknown; dims: unknown; layout?: unknown };
    if (!Array.isArray(v.dims) || v.dims.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new DataError(`${where}: dims must be a list of positive integers`);
    }
    dims = v.dims as number[];
    if (v.data instanceof Float32Array) data = v.data;
    else if (Array.isArray(v.data) || ArrayBuffer.isView(v.data)) data = Float32Array.from(v.data as ArrayLike<number>);
    else throw new DataError(`${where}: data must be a Float32Array or a list of numbers`);
    if (v.layout !== undefined && v.layout !== "NCHW" && v.layout !== "NHWC") {
      throw new DataError(`${where}: layout is NCHW or NHWC, got ${JSON.stringify(v.layout)}`);
    }
    layout = v.layout as ImageLayout | undefined;
  } else {
    throw new DataError(`${where} must be { data, dims } or a Float32Array`);
  }
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    throw new DataError(`${where} has ${data.length} values but dims [${dims.join(", ")}] need ${size}`);
  }
  if (layout !== undefined && layout !== input.layout && dims.length === 3) {
    const [a, b, c] = dims as [number, number, number];
    const out = new Float32Array(size);
    if (layout === "NHWC") { // H, W, C → C, H, W
      for (let p = 0; p < a * b; p++) for (let ch = 0; ch < c; ch++) out[ch * a * b + p] = data[p * c + ch]!;
      dims = [c, a, b];
    } else { // C, H, W → H, W, C
      for (let ch = 0; ch < a; ch++) for (let p = 0; p < b * c; p++) out[p * a + ch] = data[ch * b * c + p]!;
      dims = [b, c, a];
    }
    data = out;
  }
  return { data, dims };
}
