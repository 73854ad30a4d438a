/**
 * `deno task quant`: float ONNX model + calibration images → int8 QDQ ONNX
 * model, a JSON report next to it, and a short table in the terminal. With no
 * arguments it quantizes the bundled Fashion-MNIST sample.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { basename, join } from "node:path";
import {
  DEFAULT_QUANTIZE_OPTIONS,
  evaluateQuantization,
  quantizeModel,
  type QuantizeOptions,
} from "../core/pipeline.ts";
import { decodeModel, MAX_MODEL_BYTES } from "../core/onnx/model.ts";
import type { Model } from "../core/onnx/ir.ts";
import type { ImageLayout, ImagePreprocess } from "../core/preprocess.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { assertWritable, reportPathFor, writeFileAtomic } from "./files.ts";
import { imageFolderSource } from "./source.ts";
import { buildReport } from "./report.ts";
import { formatSummary } from "./print.ts";
import { runMain, UsageError } from "./errors.ts";

const SAMPLE_MODEL = "calib-data/models/fmnist_mobilenet.onnx";
const SAMPLE_CALIB = "calib-data/fmnist";

const HELP = `Usage: deno task quant [--model M.onnx --calib DIR --out OUT.onnx] [options]

Quantizes a float ONNX model to an int8 QDQ ONNX model with calibration images.
With no arguments: ${SAMPLE_MODEL} with the images in ${SAMPLE_CALIB}/.

  --model PATH          float ONNX model
  --calib DIR           folder of calibration images (labels.csv beside them is used for accuracy)
  --out PATH            int8 model to write (default: out/<model>.int8.onnx); the report goes
                        next to it as <name>.report.json
  --method NAME         activation calibration: KL (default, MNN's) or MINMAX (alias MAX_ABS)
  --mean a[,b,c]        per-channel mean on the [0,1] scale (default 0)
  --std a[,b,c]         per-channel std on the [0,1] scale (default 1): x = (pixel/255 - mean) / std
  --layout NCHW|NHWC    input memory layout (default NCHW)
  --input-shape N,C,H,W fix dynamic input dimensions (in the --layout order)
  --batch N             calibration batch size when the model's batch is dynamic (default 1)
  --limit N             use only the first N images (MNN used_image_num)
  --no-resize           refuse images whose size differs from the model input instead of resizing
  --asymmetric          uint8 activations with a zero point instead of symmetric int8
  --per-tensor          one weight scale per tensor instead of per output channel
  --feature-clamp N     activation clamp (default 127, MNN feature_clamp_value)
  --weight-clamp N      weight clamp (default 127, MNN weight_clamp_value)
  --skip a,b            node or tensor names to keep in float (MNN skip_quant_op_names)
  --threads N           ONNX Runtime threads (default 1)
  --quiet               print nothing but errors
  -h, --help            this text
`;

function numberList(flag: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(",").map((v) => Number(v.trim()));
  if (list.length === 0 || list.some((v) => !Number.isFinite(v))) {
    throw new UsageError(`--${flag} takes comma-separated numbers, got "${value}"`);
  }
  return list;
}

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} takes a positive integer, got "${value}"`);
  return n;
}

/** The input spec of a single-image-input model, from its declared shape and the flags. */
function resolveInput(
  model: Model,
  source: string,
  flags: { layout: ImageLayout; shape: number[] | undefined; mean: number[]; std: number[] },
): { name: string; spec: ImagePreprocess; batch: number | undefined } {
  const inputs = model.graph.realInputs();
  if (inputs.length !== 1) {
    throw new UsageError(
      `${source} has ${inputs.length} inputs (${inputs.map((i) => i.name).join(", ")}); ` +
        `an image folder feeds exactly one`,
    );
  }
  const input = inputs[0]!;
  const declared = input.shape;
  if (flags.shape && flags.shape.length !== 4) {
    throw new UsageError(`--input-shape needs 4 numbers (N,C,H,W or N,H,W,C), got ${flags.shape.length}`);
  }
  if (!flags.shape && declared?.length !== 4) {
    throw new UsageError(`Input "${input.name}" of ${source} is not 4-D ([${declared ?? "?"}]); pass --input-shape`);
  }
  const dims = flags.shape ?? declared!;
  const [n, a, b, c] = dims;
  const [ch, h, w] = flags.layout === "NCHW" ? [a, b, c] : [c, a, b];
  if (typeof ch !== "number" || typeof h !== "number" || typeof w !== "number") {
    throw new UsageError(
      `Input "${input.name}" of ${source} has dynamic dimensions [${dims.join(",")}]; ` +
        `pass --input-shape (${flags.layout === "NCHW" ? "N,C,H,W" : "N,H,W,C"})`,
    );
  }
  if (ch !== 1 && ch !== 3) {
    throw new UsageError(
      `Input "${input.name}" has ${ch} channels in ${flags.layout} order; images give 1 or 3 (check --layout)`,
    );
  }
  return {
    name: input.name,
    spec: { width: w, height: h, channels: ch, layout: flags.layout, mean: flags.mean, std: flags.std },
    batch: typeof n === "number" ? n : undefined,
  };
}

async function readModel(path: string): Promise<{ model: Model; bytes: number }> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    throw new UsageError(`Model file not found: ${path}`);
  }
  if (info.isDirectory) throw new UsageError(`Model path is a folder, not an ONNX file: ${path}`);
  if (info.size > MAX_MODEL_BYTES) {
    throw new UsageError(
      `${path} is ${info.size} bytes; models of 2 GiB or more (ONNX external data) are out of scope`,
    );
  }
  const bytes = await Deno.readFile(path);
  return { model: decodeModel(bytes, path), bytes: bytes.byteLength };
}

/**
 * Runs the quant command with the given arguments.
 *
 * @example
 * ```ts ignore
 * await quantMain(["--model", "m.onnx", "--calib", "imgs/", "--out", "m.int8.onnx"]);
 * ```
 */
export async function quantMain(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      model: { type: "string" },
      calib: { type: "string" },
      out: { type: "string" },
      method: { type: "string" },
      mean: { type: "string" },
      std: { type: "string" },
      layout: { type: "string" },
      "input-shape": { type: "string" },
      batch: { type: "string" },
      limit: { type: "string" },
      "no-resize": { type: "boolean" },
      asymmetric: { type: "boolean" },
      "per-tensor": { type: "boolean" },
      "feature-clamp": { type: "string" },
      "weight-clamp": { type: "string" },
      skip: { type: "string" },
      threads: { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const modelPath = values.model ?? SAMPLE_MODEL;
  const calibDir = values.calib ?? (values.model ? undefined : SAMPLE_CALIB);
  if (!calibDir) throw new UsageError("--calib DIR is required with --model");
  const out = values.out ?? join("out", basename(modelPath).replace(/\.onnx$/i, "") + ".int8.onnx");
  const layout = (values.layout ?? "NCHW").toUpperCase();
  if (layout !== "NCHW" && layout !== "NHWC") throw new UsageError(`--layout is NCHW or NHWC, got "${values.layout}"`);
  const options: QuantizeOptions = {
    ...DEFAULT_QUANTIZE_OPTIONS,
    method: (values.method ?? DEFAULT_QUANTIZE_OPTIONS.method).toUpperCase(),
    scheme: values.asymmetric ? "asymmetric-uint8" : "symmetric-int8",
    perChannel: !values["per-tensor"],
    featureClamp: positiveInt("feature-clamp", values["feature-clamp"]) ?? 127,
    weightClamp: positiveInt("weight-clamp", values["weight-clamp"]) ?? 127,
    skip: values.skip ? values.skip.split(",").map((s) => s.trim()).filter((s) => s) : [],
  };
  const threads = positiveInt("threads", values.threads);
  if (threads) options.threads = threads;
  if (options.featureClamp > 127 || options.weightClamp > 127) {
    throw new UsageError("--feature-clamp and --weight-clamp are at most 127 for 8-bit quantization");
  }

  await assertWritable(out);
  const reportPath = reportPathFor(out);
  const { model, bytes: floatBytes } = await readModel(modelPath);
  const input = resolveInput(model, modelPath, {
    layout,
    shape: numberList("input-shape", values["input-shape"]),
    mean: numberList("mean", values.mean) ?? [0],
    std: numberList("std", values.std) ?? [1],
  });
  const batchSize = input.batch ?? positiveInt("batch", values.batch) ?? 1;
  const limit = positiveInt("limit", values.limit);
  const { source, files } = await imageFolderSource(calibDir, input.name, input.spec, {
    batchSize,
    ...(limit ? { limit } : {}),
    resize: !values["no-resize"],
  });
  const progress = values.quiet ? undefined : progressPrinter(files.length);
  const result = await quantizeModel(model, source, createOrtExecutor, options, progress);
  progress?.(-1, 0, 0);
  const t0 = performance.now();
  const evaluation = await evaluateQuantization(result, source, createOrtExecutor, { threads: options.threads ?? 1 });
  const evaluateMs = performance.now() - t0;
  const report = buildReport({
    model: modelPath,
    output: out,
    options,
    result,
    evaluation,
    floatBytes,
    source: calibDir,
    evaluateMs,
  });
  await writeFileAtomic(out, result.quantizedBytes);
  await writeFileAtomic(reportPath, JSON.stringify(report, null, 2) + "\n");
  if (!values.quiet) {
    console.log(formatSummary(report));
    console.log(`\nWrote ${out} and ${reportPath}`);
  }
}

/** A one-line progress display on a terminal (nothing when stderr is not a TTY). */
function progressPrinter(total: number): (pass: number, passes: number, samples: number) => void {
  const tty = Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  const start = performance.now();
  return (pass, passes, samples) => {
    if (!tty) return;
    if (pass < 0) {
      Deno.stderr.writeSync(encoder.encode("\r\x1b[K"));
      return;
    }
    const rate = samples / ((performance.now() - start) / 1000);
    Deno.stderr.writeSync(
      encoder.encode(
        `\r\x1b[Kcalibrating: pass ${pass + 1}/${passes} ${samples}/${total} images (${rate.toFixed(0)}/s)`,
      ),
    );
  };
}

if (import.meta.main) await runMain(() => quantMain(Deno.args));
