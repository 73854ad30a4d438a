/**
 * A parsed config (any dialect) + the model → what the pipeline runs: the
 * quantization options and re-iterable calibration batches, one data source
 * per input in config order (or one dataset module for all).
 *
 * Everything that can be checked before calibration is: input names, shapes
 * against the model's, channel counts, tensor file headers and sample dims,
 * sample counts across inputs, skip and output names (with the config line).
 *
 * @module
 */

import { isAbsolute, join } from "node:path";
import { DEFAULT_QUANTIZE_OPTIONS, type QuantizeOptions } from "../../core/pipeline.ts";
import type { Batch, BatchSource } from "../../core/quant/calibrate.ts";
import type { HostTensor } from "../../core/exec/executor.ts";
import type { Dim, Model } from "../../core/onnx/ir.ts";
import type { ImageLayout } from "../../core/preprocess.ts";
import {
  COLOR_CHANNELS,
  ConfigError,
  finalColorOrder,
  fixedOutputSize,
  type InputConfig,
  type Located,
  type QuantConfig,
  type Spot,
} from "../../core/config/mod.ts";
import { DataError } from "../images.ts";
import { readLabels } from "../source.ts";
import { loadDatasetModule } from "./dataset_module.ts";
import { imageFiles, imageSource, type SampleSource, sequenceSource, tensorFileSource } from "./samples.ts";

/**
 * Command-line values that override (or complete) the config.
 *
 * @example
 * ```ts
 * import type { JobOverrides } from "./job.ts";
 * const o: JobOverrides = { method: "MINMAX", batch: 4, inputShapes: "image: 1,3,16,16; vector: 1,4" };
 * ```
 */
export interface JobOverrides {
  method?: string;
  batch?: number;
  limit?: number;
  layout?: ImageLayout;
  /** `N,C,H,W` for a one-input model, or `name: dims; name: dims` (seed 004's --input_shape). */
  inputShapes?: string;
  dataset?: string;
  threads?: number;
  asymmetric?: boolean;
  perTensor?: boolean;
  featureClamp?: number;
  weightClamp?: number;
  skip?: readonly string[];
}

/**
 * One model input as the job feeds it.
 *
 * @example
 * ```ts
 * import type { ResolvedInput } from "./job.ts";
 * const r: ResolvedInput = { name: "image", dims: [null, 3, 16, 16], layout: "NCHW", description: "8 images" };
 * ```
 */
export interface ResolvedInput {
  readonly name: string;
  /** Dims including the batch axis; `null` where dynamic. */
  readonly dims: readonly (number | null)[];
  readonly layout: ImageLayout;
  readonly description: string;
}

/**
 * What {@link buildJob} returns.
 *
 * @example
 * ```ts ignore
 * const job = await buildJob(model, config, "configs/", {});
 * await quantizeModel(model, job.source, createOrtExecutor, job.options);
 * ```
 */
export interface CalibrationJob {
  readonly options: QuantizeOptions;
  readonly source: BatchSource;
  /** Samples per pass, when known. */
  readonly samples: number | undefined;
  readonly batchSize: number;
  readonly inputs: readonly ResolvedInput[];
  /** One line describing the data, for the report. */
  readonly description: string;
  readonly debug: boolean;
  readonly notes: readonly string[];
  /** What a sample is, for the progress display: "images" when every input reads images, else "samples". */
  readonly unit: string;
}

function err(config: QuantConfig, at: Spot, problem: string): ConfigError {
  return ConfigError.at(config.file, at, problem);
}

/**
 * Parses `--input-shape`: `1,3,224,224` (for the only input) or `a: 1,3,224,224; b: 1,4`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseInputShapes } from "./job.ts";
 * assert.deepEqual(parseInputShapes("image: 1,3,16,16; vector: 1,4"), new Map([["image", [1, 3, 16, 16]], ["vector", [1, 4]]]));
 * assert.deepEqual(parseInputShapes("1,3,48,192"), new Map([["", [1, 3, 48, 192]]]));
 * ```
 */
export function parseInputShapes(text: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const part of text.split(";").map((s) => s.trim()).filter((s) => s !== "")) {
    const colon = part.lastIndexOf(":");
    const name = colon < 0 ? "" : part.slice(0, colon).trim();
    const dims = part.slice(colon + 1).split(",").map((s) => Number(s.trim()));
    if (dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new DataError(`--input-shape: "${part}" is not a list of positive integers`);
    }
    out.set(name, dims);
  }
  return out;
}

/** Layout from a 4-D shape's channel axis, when it tells. */
function inferLayout(dims: readonly (number | null)[]): ImageLayout | undefined {
  if (dims.length !== 4) return undefined;
  const small = (d: number | null) => d === 1 || d === 3 || d === 4; // gray, colour, with alpha
  if (small(dims[1]!) && !small(dims[3]!)) return "NCHW";
  if (small(dims[3]!) && !small(dims[1]!)) return "NHWC";
  return undefined;
}

function fixed(d: Dim | undefined): number | null {
  return typeof d === "number" && d > 0 ? d : null;
}

/**
 * Resolves the config against the model and opens every data source.
 * `configDir` is the folder relative paths in the config are resolved against.
 *
 * @example
 * ```ts ignore
 * const config = parseConfig(text, "calib/imageInputConfig.json");
 * const job = await buildJob(model, config, "calib", { method: "MINMAX" });
 * ```
 */
export async function buildJob(
  model: Model,
  config: QuantConfig,
  configDir: string,
  overrides: JobOverrides = {},
): Promise<CalibrationJob> {
  const resolvePath = (p: string) => (isAbsolute(p) ? p : join(configDir, p));
  const graph = model.graph;
  const modelInputs = graph.realInputs();
  const modelNames = modelInputs.map((i) => i.name);
  const listNames = modelNames.join(", ");

  // 1. Pair config inputs with model inputs: by name when named, else by position.
  const pairs: { cfg: InputConfig | undefined; index: number }[] = [];
  if (config.inputs.length === 0) {
    modelInputs.forEach((_, index) => pairs.push({ cfg: undefined, index }));
  } else {
    if (config.inputs.length !== modelInputs.length) {
      const at = config.inputs[0]!.at;
      throw err(
        config,
        at,
        `the config describes ${config.inputs.length} input${config.inputs.length === 1 ? "" : "s"} but the model ` +
          `has ${modelInputs.length} (${listNames}); give one data source per input, in order`,
      );
    }
    const taken = new Set<number>();
    config.inputs.forEach((cfg, i) => {
      let index = i;
      if (cfg.name) {
        index = modelNames.indexOf(cfg.name.value);
        if (index < 0) {
          throw err(config, cfg.name.at, `"${cfg.name.value}" is not an input of the model (${listNames})`);
        }
      }
      if (taken.has(index)) throw err(config, cfg.at, `input "${modelNames[index]}" is described twice`);
      taken.add(index);
      pairs.push({ cfg, index });
    });
  }

  // 2. Shapes, layouts, batch size.
  const shapeFlags = overrides.inputShapes ? parseInputShapes(overrides.inputShapes) : new Map<string, number[]>();
  if (shapeFlags.has("") && modelInputs.length !== 1) {
    throw new DataError(`--input-shape without names fits a one-input model; this one has ${listNames}`);
  }
  for (const name of shapeFlags.keys()) {
    if (name !== "" && !modelNames.includes(name)) {
      throw new DataError(`--input-shape names "${name}", not an input (${listNames})`);
    }
  }
  const resolved = pairs.map(({ cfg, index }) => {
    const input = modelInputs[index]!;
    const declared = input.shape?.map(fixed);
    const flag = shapeFlags.get(input.name) ?? shapeFlags.get("");
    const given: Located<readonly (number | null)[]> | undefined = flag
      ? { value: flag, at: { key: "--input-shape", line: undefined } }
      : cfg?.shape;
    let dims: (number | null)[] | undefined = declared ? [...declared] : undefined;
    if (given) {
      if (declared && declared.length !== given.value.length) {
        throw err(config, given.at, `has ${given.value.length} dims but input "${input.name}" has ${declared.length}`);
      }
      dims = given.value.map((d, k) => {
        const m = declared?.[k] ?? null;
        if (d !== null && m !== null && d !== m && k > 0) {
          throw err(config, given.at, `dimension ${k} is ${d} but input "${input.name}" of the model has ${m}`);
        }
        return m ?? d;
      });
    }
    const layout = cfg?.layout?.value ?? overrides.layout ?? (dims && inferLayout(dims)) ?? "NCHW";
    return { cfg, input, dims, layout, givenBatch: given?.value[0] ?? null };
  });
  const fixedBatches = new Set(resolved.map((r) => r.dims?.[0]).filter((b): b is number => typeof b === "number"));
  if (fixedBatches.size > 1) {
    throw new DataError(`The model's inputs have different fixed batch sizes: ${[...fixedBatches].join(", ")}`);
  }
  const modelBatch = [...fixedBatches][0];
  const batchSize = modelBatch ?? overrides.batch ?? resolved.find((r) => r.givenBatch !== null)?.givenBatch ??
    config.batchSize ?? 1;

  // 3. Data sources.
  const datasetPath = overrides.dataset ?? (config.dataset ? resolvePath(config.dataset.value) : undefined);
  const sources: SampleSource[] = [];
  const described: ResolvedInput[] = [];
  let labelsDir: string | undefined;
  for (const r of resolved) {
    const name = r.input.name;
    const cfg = r.cfg;
    let source: SampleSource | undefined;
    if (cfg?.source && !datasetPath) {
      const path = resolvePath(cfg.source.path.value);
      if (cfg.source.kind === "images") {
        const image = cfg.image!;
        let order;
        try {
          order = finalColorOrder(image.pipeline.steps, "RGBA");
        } catch (e) {
          throw err(config, image.at, (e as Error).message);
        }
        const channels = COLOR_CHANNELS[order];
        const dims = r.dims ?? [null, null, null, null];
        if (dims.length !== 4) {
          throw err(config, cfg.source.path.at, `images feed 4-D inputs, but "${name}" is ${dims.length}-D`);
        }
        const [cAxis, hAxis, wAxis] = r.layout === "NCHW" ? [1, 2, 3] : [3, 1, 2];
        if (dims[cAxis] !== null && dims[cAxis] !== channels) {
          throw err(
            config,
            image.at,
            `the preprocessing gives ${channels}-channel ${order} images but input "${name}" has ${dims[cAxis]} ` +
              `channels in ${r.layout} order${r.cfg?.layout ? "" : " (set the layout if it is wrong)"}`,
          );
        }
        // The size the preprocessing produces binds when the config states it (MNN width/height) or nothing
        // resizes afterwards; otherwise the final fit resizes to the model's size.
        const produced = fixedOutputSize(image.pipeline.steps);
        const binding = image.size !== undefined || image.pipeline.fit === "none";
        const want = image.size?.value ?? produced;
        const sizeAt = image.size?.at ?? image.at;
        let height = dims[hAxis]!;
        let width = dims[wAxis]!;
        if (want && (binding || height === null || width === null)) {
          if ((height !== null && height !== want.height) || (width !== null && width !== want.width)) {
            throw err(
              config,
              sizeAt,
              `gives ${want.width}×${want.height} images but input "${name}" needs ${width ?? "any"}×${
                height ?? "any"
              }`,
            );
          }
          height = want.height;
          width = want.width;
        }
        if (height === null || width === null) {
          throw err(config, cfg.source.path.at, `input "${name}" has a dynamic height or width; give its shape`);
        }
        const files = await imageFiles(path);
        source = imageSource(files, image.pipeline, { width, height, channels }, r.layout);
        const full = [...dims];
        full[cAxis] = channels;
        full[hAxis] = height;
        full[wAxis] = width;
        r.dims = full;
        if (resolved.length === 1 && (await isDir(path))) labelsDir = path;
      } else if (cfg.source.kind === "tensors") {
        source = await tensorFileSource(path, name, r.layout, cfg.source.key);
      } else {
        source = await sequenceSource(path, r.layout);
      }
      const sd = source.sampleDims;
      if (sd && r.dims) {
        const want = r.dims.slice(1);
        const mismatch = sd.length !== want.length || want.some((d, k) => d !== null && d !== sd[k]);
        if (mismatch) {
          throw new DataError(
            `${source.description}: samples are [${sd.join(", ")}] but input "${name}" needs [${
              want.map((d) => d ?? "?").join(", ")
            }] (dims after the batch axis)`,
          );
        }
      }
      sources.push(source);
    } else if (!datasetPath) {
      throw new DataError(`No calibration data for input "${name}": the config gives no source and no dataset module`);
    }
    described.push({
      name,
      dims: r.dims ?? [],
      layout: r.layout,
      description: source?.description ?? "dataset module",
    });
  }

  // 4. Samples across inputs, batched.
  const limit = overrides.limit ?? config.limit;
  let samples: number | undefined;
  let stream: () => AsyncIterable<Record<string, HostTensor>>;
  let description: string;
  if (datasetPath) {
    const ds = await loadDatasetModule(
      datasetPath,
      resolved.map((r) => ({
        name: r.input.name,
        layout: r.layout,
        sampleDims: r.dims && r.dims.slice(1).every((d) => d !== null) ? (r.dims.slice(1) as number[]) : undefined,
      })),
    );
    samples = ds.count === undefined ? undefined : Math.min(ds.count, limit ?? Infinity);
    description = ds.description;
    stream = async function* () {
      let n = 0;
      for await (const s of ds.samples()) {
        if (limit !== undefined && n >= limit) return;
        n++;
        yield s;
      }
    };
  } else {
    const counts = sources.map((s) => s.count);
    // Sources of different lengths would pair samples by position only; allowed when a limit cuts them all.
    if (new Set(counts).size > 1 && !(limit !== undefined && counts.every((c) => c >= limit))) {
      throw new DataError(
        `The inputs have different numbers of samples: ${
          described.map((d, i) => `${d.name} ${counts[i]} (${d.description})`).join(", ")
        }`,
      );
    }
    samples = Math.min(counts[0] ?? 0, limit ?? Infinity);
    description = described.map((d) => `${d.name}: ${d.description}`).join("; ");
    stream = async function* () {
      for (let i = 0; i < samples!; i++) {
        const tensors = await Promise.all(sources.map((s) => s.read(i)));
        yield Object.fromEntries(described.map((d, k) => [d.name, tensors[k]!]));
      }
    };
  }
  const names = described.map((d) => d.name);
  const modelDims = new Map(described.map((d) => [d.name, d.dims]));
  const firstFiles = sources[0]?.files;
  const labels = labelsDir && firstFiles ? await readLabels(labelsDir) : undefined;
  const fileLabels = labels && firstFiles?.every((f) => labels.has(basenameOf(f)))
    ? firstFiles.map((f) => labels.get(basenameOf(f))!)
    : undefined;
  const source: BatchSource = () => batches(stream(), batchSize, names, modelDims, fileLabels);

  // 5. Options.
  const options = buildOptions(config, overrides, model, batchSize);
  for (const o of config.outputs) {
    if (!graph.outputs.some((g) => g.name === o.value) && !graph.nodes.some((n) => n.outputs.includes(o.value))) {
      throw err(
        config,
        o.at,
        `"${o.value}" is not an output of the model (${graph.outputs.map((g) => g.name).join(", ")})`,
      );
    }
  }
  return {
    options,
    source,
    samples,
    batchSize,
    inputs: described,
    description,
    debug: config.debug,
    notes: config.notes,
    unit: sources.length > 0 && sources.every((s) => s.files !== undefined) ? "images" : "samples",
  };
}

function basenameOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/** Stacks consecutive samples into batches; samples of one batch must share their dims. */
async function* batches(
  samples: AsyncIterable<Record<string, HostTensor>>,
  batchSize: number,
  names: readonly string[],
  modelDims: Map<string, readonly (number | null)[]>,
  labels: number[] | undefined,
): AsyncGenerator<Batch> {
  let pending: Record<string, HostTensor>[] = [];
  let index = 0;
  const flush = (): Batch => {
    const feeds: Record<string, HostTensor> = {};
    for (const name of names) {
      const first = pending[0]![name]!;
      const size = first.data.length;
      const data = new Float32Array(size * pending.length);
      pending.forEach((s, k) => {
        const t = s[name]!;
        if (t.dims.length !== first.dims.length || t.dims.some((d, j) => d !== first.dims[j])) {
          throw new DataError(
            `Sample ${index - pending.length + k} of input "${name}" is [${t.dims.join(", ")}] but sample ${
              index - pending.length
            } in the same batch is [${first.dims.join(", ")}]; use batch size 1 for samples of varying shape`,
          );
        }
        data.set(t.data, k * size);
      });
      const want = modelDims.get(name) ?? [];
      const dims = [pending.length, ...first.dims];
      if (
        want.length > 0 && (want.length !== dims.length || want.some((d, j) => j > 0 && d !== null && d !== dims[j]))
      ) {
        throw new DataError(
          `Sample ${index - pending.length} of input "${name}" is [${first.dims.join(", ")}] but the model needs [${
            want.slice(1).map((d) => d ?? "?").join(", ")
          }]`,
        );
      }
      feeds[name] = { data, dims };
    }
    const batch: Batch = { feeds, size: pending.length };
    if (labels) batch.labels = labels.slice(index - pending.length, index);
    pending = [];
    return batch;
  };
  for await (const s of samples) {
    pending.push(s);
    index++;
    if (pending.length === batchSize) yield flush();
  }
  if (pending.length > 0) yield flush();
}

function buildOptions(config: QuantConfig, o: JobOverrides, model: Model, batchSize: number): QuantizeOptions {
  const c = config.options;
  const options: QuantizeOptions = {
    ...DEFAULT_QUANTIZE_OPTIONS,
    method: (o.method ?? c.method ?? DEFAULT_QUANTIZE_OPTIONS.method).toUpperCase(),
    scheme: o.asymmetric ? "asymmetric-uint8" : c.scheme ?? DEFAULT_QUANTIZE_OPTIONS.scheme,
    featureClamp: o.featureClamp ?? c.featureClamp ?? DEFAULT_QUANTIZE_OPTIONS.featureClamp,
    weightClamp: o.weightClamp ?? c.weightClamp ?? DEFAULT_QUANTIZE_OPTIONS.weightClamp,
    perChannel: o.perTensor ? false : c.perChannel ?? DEFAULT_QUANTIZE_OPTIONS.perChannel,
    weightMethod: c.weightMethod ?? DEFAULT_QUANTIZE_OPTIONS.weightMethod,
    bits: c.bits ?? DEFAULT_QUANTIZE_OPTIONS.bits,
    methodOptions: { ...c.methodOptions },
    skip: [...resolveSkip(config, model), ...(o.skip ?? [])],
  };
  const threads = o.threads ?? c.threads;
  if (threads !== undefined) options.threads = threads;
  if (options.method === "EMA" && options.methodOptions.emaBatchSize === undefined) {
    options.methodOptions.emaBatchSize = batchSize;
  }
  return options;
}

/**
 * Skip names checked against the model, each error naming the config line. With `skipMayNameWeights`
 * (the no-training tool's ONNX rule) a weight name selects the ops reading it.
 */
function resolveSkip(config: QuantConfig, model: Model): string[] {
  const g = model.graph;
  const known = new Set<string>();
  for (const n of g.nodes) {
    known.add(n.name);
    for (const out of n.outputs) known.add(out);
  }
  const consumers = g.consumers();
  const constants = new Set<string>(g.initializers.keys());
  for (const n of g.nodes) if (n.opType === "Constant") n.outputs.forEach((o) => constants.add(o));
  const out: string[] = [];
  for (const s of config.skip) {
    if (config.skipMayNameWeights && constants.has(s.value) && !g.nodes.some((n) => n.name === s.value)) {
      const readers = consumers.get(s.value) ?? [];
      if (readers.length === 0) throw err(config, s.at, `weight "${s.value}" is read by no op`);
      for (const r of readers) out.push(r.name !== "" ? r.name : r.outputs[0]!);
    } else if (known.has(s.value) && s.value !== "") {
      out.push(s.value);
    } else {
      throw err(
        config,
        s.at,
        `"${s.value}" is not ${config.skipMayNameWeights ? "a weight or an op" : "an op or tensor"} of the model`,
      );
    }
  }
  return out;
}
