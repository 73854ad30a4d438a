/**
 * `deno task debug`: float ONNX model + its int8 QDQ model + data → which
 * layer breaks accuracy. Writes a self-contained HTML page and a JSON report
 * (core/report/schema.ts) and prints the worst layers with a concrete action
 * for each. The QDQ model may be ours (tensor names and MNN's ±127 range
 * known) or foreign (e.g. ONNX Runtime's quantizer): tensors are matched by
 * name and the ones that cannot be are listed.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { basename, dirname, join } from "node:path";
import { decodeModel, MAX_MODEL_BYTES } from "../core/onnx/model.ts";
import { cloneModel } from "../core/onnx/model.ts";
import type { Model } from "../core/onnx/ir.ts";
import { prepareModel } from "../core/passes/mod.ts";
import type { BatchSource } from "../core/quant/calibrate.ts";
import type { ImageLayout, ImagePreprocess } from "../core/preprocess.ts";
import { analyzeQdqModel } from "../core/debug/qdq_graph.ts";
import { type DebugOptions, DEFAULT_DEBUG_OPTIONS, runDebug, SENSITIVITY_BUDGET } from "../core/debug/run.ts";
import { formatDebugSummary } from "../core/report/summary.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { assertWritable } from "./files.ts";
import { imageFolderSource } from "./source.ts";
import { loadConfigFile } from "./config/load.ts";
import { buildJob, type JobOverrides } from "./config/job.ts";
import { RUNTIME, writeDebugReport } from "./report_html.ts";
import { runMain, UsageError } from "./errors.ts";
import { numberList } from "./args.ts";

const HELP = `Usage: deno task debug --model M.onnx --quantized M.int8.onnx --data DIR [options]
       deno task debug --model M.onnx --quantized M.int8.onnx --config C [options]

Compares every quantized tensor of an int8 QDQ model with the float model on the data, measures how
much each layer alone hurts the output, and names the layers to fix with a concrete action.
Writes an HTML page (charts, worst layers, per-layer histograms) and a JSON report.

  --model PATH              the float ONNX model
  --quantized PATH          its int8 QDQ model (ours, or another tool's: tensors are matched by name)
  --data DIR                folder of images (labels.csv beside them is used for accuracy)
  --config PATH             a calibration config instead of --data (as for deno task quant)
  --mean a[,b,c]            per-channel mean on the [0,1] scale (default 0)
  --std a[,b,c]             per-channel std on the [0,1] scale (default 1)
  --layout NCHW|NHWC        input memory layout (default NCHW)
  --input-shape N,C,H,W     fix dynamic input dimensions
  --batch N                 batch size when the model's batch is dynamic (default 8)
  --limit N                 use only the first N samples
  --no-resize               refuse images whose size differs from the model input
  --report PATH             HTML page to write (default: <quantized>.debug.html)
  --json PATH               JSON report to write (default: <quantized>.debug.json)
  --tensor-samples N        samples the per-tensor metrics average over (default ${DEFAULT_DEBUG_OPTIONS.tensorSamples})
  --sensitivity-samples N   samples each sensitivity variant runs on (the ones where int8 strays most), 0 for
                            none (default: ${SENSITIVITY_BUDGET} / quantized tensors, 2 to --tensor-samples)
  --segments N              model segments for the sensitivity runs (default: one per 12 tensors)
  --worst N                 layers listed in the terminal (default 5; the HTML lists 10)
  --feature-clamp N         integer range ±N of symmetric int8 tensors (default: 127 for models this
                            toolchain wrote, MNN's; the type's full range for other tools' models)
  --threads N               ONNX Runtime threads (default 1)
  --quiet                   print nothing but errors
  -h, --help                this text
`;

function count(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${flag} takes an integer ≥ ${min}, got "${value}"`);
  return n;
}

async function readModel(path: string, what: string): Promise<Model> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    throw new UsageError(`${what} file not found: ${path}`);
  }
  if (info.isDirectory) throw new UsageError(`${what} path is a folder, not an ONNX file: ${path}`);
  if (info.size > MAX_MODEL_BYTES) {
    throw new UsageError(`${path} is ${info.size} bytes; models of 2 GiB or more are out of scope`);
  }
  return decodeModel(await Deno.readFile(path), path);
}

/** The image spec of a one-input image model, from its declared shape and the flags. */
function imageInput(
  model: Model,
  path: string,
  flags: { layout: ImageLayout; shape: number[] | undefined; mean: number[]; std: number[] },
): { name: string; spec: ImagePreprocess; batch: number | undefined } {
  const inputs = model.graph.realInputs();
  if (inputs.length !== 1) {
    throw new UsageError(
      `${path} has ${inputs.length} inputs (${inputs.map((i) => i.name).join(", ")}); an image folder feeds ` +
        `exactly one: use --config`,
    );
  }
  const input = inputs[0]!;
  if (flags.shape && flags.shape.length !== 4) {
    throw new UsageError(`--input-shape needs 4 numbers (N,C,H,W or N,H,W,C), got ${flags.shape.length}`);
  }
  const dims = flags.shape ?? input.shape;
  if (dims?.length !== 4) throw new UsageError(`Input "${input.name}" of ${path} is not 4-D; pass --input-shape`);
  const [n, a, b, c] = dims;
  const [ch, h, w] = flags.layout === "NCHW" ? [a, b, c] : [c, a, b];
  if (typeof ch !== "number" || typeof h !== "number" || typeof w !== "number") {
    throw new UsageError(`Input "${input.name}" of ${path} has dynamic dimensions [${dims}]; pass --input-shape`);
  }
  if (ch !== 1 && ch !== 3) {
    throw new UsageError(`Input "${input.name}" has ${ch} channels in ${flags.layout} order; images give 1 or 3`);
  }
  return {
    name: input.name,
    spec: { width: w, height: h, channels: ch, layout: flags.layout, mean: flags.mean, std: flags.std },
    batch: typeof n === "number" ? n : undefined,
  };
}

/**
 * The float reference for a QDQ model: the float model prepared as our quantizer prepares it
 * (BN folded: the names our QDQ models keep), or as given when that matches more of a foreign
 * model's tensors by name.
 *
 * @example
 * ```ts ignore
 * const { float, ours } = floatReference(floatModel, qdqModel);
 * ```
 */
export function floatReference(float: Model, quantized: Model): { float: Model; ours: boolean } {
  const prepared = cloneModel(float);
  prepareModel(prepared);
  const ours = quantized.producerName === "int8-toolchain";
  if (ours) return { float: prepared, ours };
  const matched = (m: Model) =>
    analyzeQdqModel(quantized, { float: m }).activations.filter((a) => a.floatName !== undefined).length;
  return { float: matched(float) > matched(prepared) ? float : prepared, ours };
}

/**
 * Runs the debug command with the given arguments.
 *
 * @example
 * ```ts ignore
 * await debugMain(["--model", "m.onnx", "--quantized", "m.int8.onnx", "--data", "imgs/"]);
 * ```
 */
export async function debugMain(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      model: { type: "string" },
      quantized: { type: "string" },
      data: { type: "string" },
      config: { type: "string" },
      mean: { type: "string" },
      std: { type: "string" },
      layout: { type: "string" },
      "input-shape": { type: "string" },
      batch: { type: "string" },
      limit: { type: "string" },
      "no-resize": { type: "boolean" },
      report: { type: "string" },
      json: { type: "string" },
      "tensor-samples": { type: "string" },
      "sensitivity-samples": { type: "string" },
      segments: { type: "string" },
      worst: { type: "string" },
      "feature-clamp": { type: "string" },
      threads: { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (!values.model) throw new UsageError("--model (the float ONNX model) is required");
  if (!values.quantized) throw new UsageError("--quantized (the int8 QDQ model) is required");
  if (!values.data && !values.config) throw new UsageError("--data DIR (or --config FILE) is required");
  if (values.data && values.config) throw new UsageError("give --data or --config, not both");
  const layout = (values.layout ?? "NCHW").toUpperCase();
  if (layout !== "NCHW" && layout !== "NHWC") throw new UsageError(`--layout is NCHW or NHWC, got "${values.layout}"`);
  const stem = join(dirname(values.quantized), basename(values.quantized).replace(/\.onnx$/i, ""));
  const htmlPath = values.report ?? `${stem}.debug.html`;
  const jsonPath = values.json ?? `${stem}.debug.json`;
  await assertWritable(htmlPath);
  await assertWritable(jsonPath);

  const floatModel = await readModel(values.model, "Float model");
  const quantized = await readModel(values.quantized, "Quantized model");
  const { float, ours } = floatReference(floatModel, quantized);
  const threads = count("threads", values.threads, 1);
  const limit = count("limit", values.limit, 1);
  const batch = count("batch", values.batch, 1);
  let source: BatchSource;
  let sourceName: string;
  if (values.config) {
    const loaded = await loadConfigFile(values.config);
    const overrides: JobOverrides = { batch: batch ?? 8 };
    if (limit) overrides.limit = limit;
    if (values.layout) overrides.layout = layout;
    if (values["input-shape"]) overrides.inputShapes = values["input-shape"];
    const job = await buildJob(floatModel, loaded.config, loaded.dir, overrides);
    source = job.source;
    sourceName = `${values.config} (${job.description})`;
  } else {
    const input = imageInput(floatModel, values.model, {
      layout,
      shape: numberList("input-shape", values["input-shape"]),
      mean: numberList("mean", values.mean) ?? [0],
      std: numberList("std", values.std) ?? [1],
    });
    const folder = await imageFolderSource(values.data!, input.name, input.spec, {
      batchSize: input.batch ?? batch ?? 8,
      ...(limit ? { limit } : {}),
      resize: !values["no-resize"],
    });
    source = folder.source;
    sourceName = values.data!;
  }
  const clamp = count("feature-clamp", values["feature-clamp"], 1) ?? (ours ? 127 : undefined);
  const options: DebugOptions = {
    tensorSamples: count("tensor-samples", values["tensor-samples"], 1) ?? DEFAULT_DEBUG_OPTIONS.tensorSamples,
    threads: threads ?? 1,
    ...(clamp !== undefined ? { symmetricClamp: clamp } : {}),
  };
  const sensitivitySamples = count("sensitivity-samples", values["sensitivity-samples"], 0);
  if (sensitivitySamples !== undefined) options.sensitivitySamples = sensitivitySamples;
  const segments = count("segments", values.segments, 1);
  if (segments) options.segments = segments;
  const report = await runDebug(
    {
      float,
      quantized,
      names: {
        model: values.model,
        quantized: values.quantized,
        source: sourceName,
        runtime: RUNTIME,
      },
    },
    source,
    createOrtExecutor,
    options,
  );
  await writeDebugReport(report, htmlPath, jsonPath);
  if (!values.quiet) {
    console.log(formatDebugSummary(report, count("worst", values.worst, 1) ?? 5));
    console.log(`\nWrote ${htmlPath} and ${jsonPath}`);
  }
}

if (import.meta.main) await runMain(() => debugMain(Deno.args));
