/**
 * `deno task quant`: float ONNX model + calibration images → int8 QDQ ONNX
 * model, a JSON report next to it, and a short table in the terminal. With no
 * arguments it quantizes the bundled Fashion-MNIST sample.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { basename, isAbsolute, join } from "node:path";
import {
  DEFAULT_QUANTIZE_OPTIONS,
  evaluateQuantization,
  quantizeModel,
  type QuantizeOptions,
} from "../core/pipeline.ts";
import { decodeModel, MAX_MODEL_BYTES } from "../core/onnx/model.ts";
import type { BatchSource } from "../core/quant/calibrate.ts";
import type { Model } from "../core/onnx/ir.ts";
import type { ImageLayout, ImagePreprocess } from "../core/preprocess.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { compileArtifact, NATIVE_TARGETS } from "../targets/native/mod.ts";
import { assertSupported, featuresOfFloatModel, type Target, TARGETS } from "../targets/mod.ts";
import { connectDevice, runOnDevice } from "./device.ts";
import { assertWritable, reportPathFor, writeFileAtomic } from "./files.ts";
import { imageFolderSource } from "./source.ts";
import { buildReport } from "./report.ts";
import { debugSessionForRun, finishDebugReport, writeDebugReport } from "./report_html.ts";
import { formatDebugSummary } from "../core/report/summary.ts";
import { createProgress } from "./progress.ts";
import { loadConfigFile } from "./config/load.ts";
import { buildJob, type JobOverrides } from "./config/job.ts";
import { formatSummary } from "./print.ts";
import { runMain, UsageError } from "./errors.ts";
import { numberList } from "./args.ts";
import { spawnCalibrationWorker } from "./calibration_worker.ts";

const SAMPLE_MODEL = "calib-data/models/fmnist_mobilenet.onnx";
const SAMPLE_CALIB = "calib-data/fmnist";

const HELP = `Usage: deno task quant [--model M.onnx --calib DIR --out OUT.onnx] [options]
       deno task quant --model M.onnx --config C --out OUT.onnx [options]

Quantizes a float ONNX model to an int8 QDQ ONNX model with calibration images.
With no arguments: ${SAMPLE_MODEL} with the images in ${SAMPLE_CALIB}/.

  --model PATH          float ONNX model
  --calib DIR           folder of calibration images (labels.csv beside them is used for accuracy)
  --config PATH         a config file instead of --calib: quant.yaml, MNN imageInputConfig.json, MNN Python
                        config.yaml, a no-training quant config.prototxt or Sophon auto_calib arguments
                        (recognised from the content; paths in it are relative to it). Flags given with it
                        override its values; --layout and --input-shape (N,C,H,W or "name: dims; name: dims")
                        complete it
  --dataset PATH        calibration dataset module (TypeScript) feeding every input (MNN Python's
                        calibration_dataset; default: calibration_dataset.ts beside an MNN config.yaml)
  --debug               print every quantized tensor's cosine and overflow rate (MNN debug)
  --out PATH            int8 model to write (default: out/<model>.int8.onnx); the report goes
                        next to it as <name>.report.json
  --target NAME         the device kind the model is for: host (x86-64, QDQ ONNX, the default), arm64
                        (Linux boards and phones, QDQ ONNX), armv7 (native .qm artifact), cortex-m
                        (native .qm for the MCU firmware), or host-native (the .qm on the host). Ops
                        and schemes the target cannot run are refused before calibration, listed in one
                        error (default --out: out/<model>.int8.onnx, or out/<model>.<target>.qm)
  --device URL          then push the model to a device, run it there and report latency and the
                        per-layer error of the device's own int8 tensors: ssh://user@host[:port],
                        adb://[serial], serial:///dev/ttyX?baud=115200 or local://
  --trust-host-key      ssh: accept (and record in known_hosts) a host key seen for the first time
  --identity PATH       ssh: private key file (default: the agent, then ~/.ssh/id_ed25519, id_rsa)
  --known-hosts PATH    ssh: known_hosts file (default ~/.ssh/known_hosts)
  --warmup N            device runs before timing (default 3)
  --runs N              timed device runs (default 20)
  --device-samples N    samples whose tensors the device reports (default 8)
  --pin a,b             device CPUs to pin the runtime's threads to
  --device-timeout S    seconds before a device run is killed (default 600)
  --device-dir PATH     device directory for the runner and its files (default: /tmp/int8-toolchain,
                        /data/local/tmp/int8-toolchain over adb, or under the URL's path)
  --method NAME         activation calibration: KL (default, MNN's), MINMAX (alias MAX_ABS), EMA (MNN's
                        moving average; implies --asymmetric), ADMM (MNN's), PERCENTILE (ORT's) or MSE
  --percentile P        PERCENTILE: share of |x| kept, in percent (default 99.999)
  --ema-batch N         EMA: samples per moving-average step (default 32, MNN batch_size)
  --kl-passes 1|2       KL: 1 (default) = one pass with a range-growing histogram, re-binned to MNN's
                        2048 bins (faster); 2 = MNN's range pass + histogram pass, exactly MNN's thresholds
  --weight-method M     MAX_ABS (default) or ADMM (MNN weight_quantize_method)
  --asymmetric-weights  int8 weights with per-channel zero points (MAX_ABS)
  --bits N              2..8 bits for weights and activations (MNN quant_bits): clamps 2^(N-1)-1
  --int16 a,b           nodes or tensors whose activations stay 16-bit (sensitive layers)
  --cle                 cross-layer equalization before calibration (DFQ/AIMET; ReLU6 between
                        equalized convs becomes ReLU)
  --bias-correction     empirical bias correction from the calibration data
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
  --calib-workers N     workers binning histograms beside the runtime (default: 1 when a batch
                        holds over a million values to bin; 0: none)
  --report PATH         also write the per-layer debug report: this HTML page (charts, worst layers,
                        histograms; see deno task debug) and its JSON under "debug" in the JSON report
  --quiet               print nothing but errors
  -h, --help            this text
`;

function nonNegativeInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${flag} takes an integer ≥ 0, got "${value}"`);
  return n;
}

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} takes a positive integer, got "${value}"`);
  return n;
}

/** Applies the calibration-algorithm flags (they override a config file's values). */
function withAlgorithmFlags(
  options: QuantizeOptions,
  values: {
    method?: string | undefined;
    asymmetric?: boolean | undefined;
    percentile?: string | undefined;
    "ema-batch"?: string | undefined;
    "kl-passes"?: string | undefined;
    "weight-method"?: string | undefined;
    "asymmetric-weights"?: boolean | undefined;
    bits?: string | undefined;
    int16?: string | undefined;
    cle?: boolean | undefined;
    "bias-correction"?: boolean | undefined;
  },
): QuantizeOptions {
  const next: QuantizeOptions = { ...options, methodOptions: { ...options.methodOptions } };
  if (values.method?.toUpperCase() === "EMA") next.scheme = "asymmetric-uint8"; // MNN's EMA is asymmetric
  if (values.percentile !== undefined) {
    const p = Number(values.percentile);
    if (!(p > 0 && p <= 100)) throw new UsageError(`--percentile is in (0, 100], got "${values.percentile}"`);
    next.methodOptions.percentile = p;
  }
  const emaBatch = positiveInt("ema-batch", values["ema-batch"]);
  if (emaBatch) next.methodOptions.emaBatchSize = emaBatch;
  if (values["kl-passes"] !== undefined) {
    if (values["kl-passes"] !== "1" && values["kl-passes"] !== "2") {
      throw new UsageError(`--kl-passes is 1 or 2, got "${values["kl-passes"]}"`);
    }
    next.methodOptions.klPasses = Number(values["kl-passes"]);
  }
  if (values["weight-method"] !== undefined) {
    const method = values["weight-method"].toUpperCase();
    if (method !== "MAX_ABS" && method !== "ADMM") {
      throw new UsageError(`--weight-method is MAX_ABS or ADMM, got "${values["weight-method"]}"`);
    }
    next.weightMethod = method;
  }
  if (values["asymmetric-weights"]) next.weightScheme = "asymmetric";
  if (values.bits !== undefined) {
    const bits = Number(values.bits);
    if (!Number.isInteger(bits) || bits < 2 || bits > 8) throw new UsageError(`--bits is 2..8, got "${values.bits}"`);
    next.bits = bits;
  }
  if (values.int16) next.int16 = values.int16.split(",").map((s) => s.trim()).filter((s) => s);
  if (values.cle) next.crossLayerEqualization = true;
  if (values["bias-correction"]) next.biasCorrection = true;
  return next;
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
      config: { type: "string" },
      dataset: { type: "string" },
      debug: { type: "boolean" },
      out: { type: "string" },
      target: { type: "string" },
      device: { type: "string" },
      "trust-host-key": { type: "boolean" },
      identity: { type: "string" },
      "known-hosts": { type: "string" },
      warmup: { type: "string" },
      runs: { type: "string" },
      "device-samples": { type: "string" },
      pin: { type: "string" },
      "device-timeout": { type: "string" },
      "device-dir": { type: "string" },
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
      percentile: { type: "string" },
      "ema-batch": { type: "string" },
      "kl-passes": { type: "string" },
      "weight-method": { type: "string" },
      "asymmetric-weights": { type: "boolean" },
      bits: { type: "string" },
      int16: { type: "string" },
      cle: { type: "boolean" },
      "bias-correction": { type: "boolean" },
      skip: { type: "string" },
      threads: { type: "string" },
      "calib-workers": { type: "string" },
      report: { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (values.config && values.calib) throw new UsageError("give --calib or --config, not both");
  const calibOnly = (["mean", "std", "no-resize"] as const).find((k) => values[k] !== undefined);
  if (values.config && calibOnly) {
    throw new UsageError(`--${calibOnly} applies to --calib; with --config the config file holds the preprocessing`);
  }
  const loaded = values.config ? await loadConfigFile(values.config) : undefined;
  const configModel = loaded?.config.model;
  const modelPath = values.model ??
    (configModel
      ? (isAbsolute(configModel.value) ? configModel.value : join(loaded!.dir, configModel.value))
      : undefined) ??
    (loaded ? undefined : SAMPLE_MODEL);
  if (!modelPath) throw new UsageError(`--model is required: ${values.config} names no ONNX model`);
  const calibDir = values.calib ?? (values.model || loaded ? undefined : SAMPLE_CALIB);
  if (!calibDir && !loaded) throw new UsageError("--calib DIR (or --config FILE) is required with --model");
  // host-native: the native artifact for the host's own runtime (no device kind of its own).
  const targetNames = [...Object.keys(TARGETS), "host-native"];
  if (values.target && !targetNames.includes(values.target)) {
    throw new UsageError(`--target is one of ${targetNames.join(", ")}, got "${values.target}"`);
  }
  const target: Target | undefined = values.target && values.target !== "host-native"
    ? TARGETS[values.target]
    : undefined;
  const nativeTarget = values.target === "host-native" ? "host-native" : target?.nativeTarget;
  if (nativeTarget && !Object.hasOwn(NATIVE_TARGETS, nativeTarget)) throw new Error(`No native target ${nativeTarget}`);
  if (values.device && !target) {
    throw new UsageError("--device needs the device kind as --target: host, arm64, armv7 or cortex-m");
  }
  const deviceFlag = ([
    "trust-host-key",
    "identity",
    "known-hosts",
    "warmup",
    "runs",
    "device-samples",
    "pin",
    "device-timeout",
    "device-dir",
  ] as const).find((k) => values[k] !== undefined);
  if (deviceFlag && !values.device) throw new UsageError(`--${deviceFlag} applies to --device runs`);
  const out = values.out ??
    join("out", basename(modelPath).replace(/\.onnx$/i, "") + (nativeTarget ? `.${values.target}.qm` : ".int8.onnx"));
  const layout = (values.layout ?? "NCHW").toUpperCase();
  if (layout !== "NCHW" && layout !== "NHWC") throw new UsageError(`--layout is NCHW or NHWC, got "${values.layout}"`);
  let options: QuantizeOptions = {
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
  if (values.report) await assertWritable(values.report);
  const reportPath = reportPathFor(out);
  const { model, bytes: floatBytes } = await readModel(modelPath);
  let source: BatchSource;
  let total: number | undefined;
  let sourceName: string;
  let debug = values.debug ?? false;
  let unit = "images";
  if (loaded) {
    const overrides: JobOverrides = {};
    if (values.method) overrides.method = values.method;
    const batch = positiveInt("batch", values.batch);
    if (batch) overrides.batch = batch;
    const limit = positiveInt("limit", values.limit);
    if (limit) overrides.limit = limit;
    if (values.layout) overrides.layout = layout;
    if (values["input-shape"]) overrides.inputShapes = values["input-shape"];
    if (values.dataset) overrides.dataset = values.dataset;
    if (threads) overrides.threads = threads;
    if (values.asymmetric) overrides.asymmetric = true;
    if (values["per-tensor"]) overrides.perTensor = true;
    if (values["feature-clamp"]) overrides.featureClamp = options.featureClamp;
    if (values["weight-clamp"]) overrides.weightClamp = options.weightClamp;
    if (options.skip.length > 0) overrides.skip = options.skip;
    const job = await buildJob(model, loaded.config, loaded.dir, overrides);
    options = job.options;
    source = job.source;
    total = job.samples;
    sourceName = `${values.config} (${job.description})`;
    debug ||= job.debug;
    unit = job.unit;
    if (!values.quiet) { for (const note of job.notes) console.log(`note: ${note}`); }
  } else {
    const input = resolveInput(model, modelPath, {
      layout,
      shape: numberList("input-shape", values["input-shape"]),
      mean: numberList("mean", values.mean) ?? [0],
      std: numberList("std", values.std) ?? [1],
    });
    const batchSize = input.batch ?? positiveInt("batch", values.batch) ?? 1;
    const limit = positiveInt("limit", values.limit);
    const folder = await imageFolderSource(calibDir!, input.name, input.spec, {
      batchSize,
      ...(limit ? { limit } : {}),
      resize: !values["no-resize"],
    });
    source = folder.source;
    total = folder.files.length;
    sourceName = calibDir!;
  }
  options = withAlgorithmFlags(options, values);
  // Reach the device and refuse what the target cannot run before the slow part.
  const transport = values.device
    ? await connectDevice(values.device, {
      trustHostKey: values["trust-host-key"] ?? false,
      ...(values.identity ? { identity: values.identity } : {}),
      ...(values["known-hosts"] ? { knownHosts: values["known-hosts"] } : {}),
    })
    : undefined;
  try {
    if (target) assertSupported(target, featuresOfFloatModel(model, options));
    const device = transport && target
      ? {
        transport,
        target,
        warmup: nonNegativeInt("warmup", values.warmup) ?? 3,
        runs: positiveInt("runs", values.runs) ?? 20,
        samples: positiveInt("device-samples", values["device-samples"]) ?? 8,
        pin: numberList("pin", values.pin),
        timeoutMs: (positiveInt("device-timeout", values["device-timeout"]) ?? 600) * 1000,
        deviceDir: values["device-dir"],
      }
      : undefined;
    const calibWorkers = values["calib-workers"] === "0" ? 0 : positiveInt("calib-workers", values["calib-workers"]);
    if (calibWorkers !== undefined) options.calibrationWorkers = calibWorkers;
    const progress = values.quiet ? undefined : createProgress({ total, unit });
    const result = await quantizeModel(model, source, createOrtExecutor, options, progress?.update, {
      spawnCalibrationWorker,
    });
    progress?.done();
    const t0 = performance.now();
    // --report: the debug report reads the evaluation's float and int8 runs as they go.
    const names = { model: modelPath, quantized: out, source: sourceName };
    const debugSession = values.report && !device ? debugSessionForRun(result, names, options.threads ?? 1) : undefined;
    const evaluation = await evaluateQuantization(result, source, createOrtExecutor, {
      threads: options.threads ?? 1,
      ...(debugSession ? { observe: debugSession.observe.bind(debugSession) } : {}),
    });
    const evaluateMs = performance.now() - t0;
    const report = buildReport({
      model: modelPath,
      output: out,
      options,
      result,
      evaluation,
      floatBytes,
      source: sourceName,
      evaluateMs,
    });
    const native = nativeTarget ? compileArtifact(result.quantized, { target: nativeTarget }) : undefined;
    await writeFileAtomic(out, native?.bytes ?? result.quantizedBytes);
    if (device) {
      // The device's own tensors make the debug report (and the HTML page when --report is given).
      report.debug = await runOnDevice({
        ...device,
        result,
        native,
        source,
        threads: options.threads ?? 1,
        names: { model: modelPath, quantized: out, source: sourceName },
        quiet: values.quiet ?? false,
      });
      if (values.report) await writeDebugReport(report.debug, values.report, undefined);
    } else if (debugSession && values.report) {
      report.debug = await finishDebugReport(debugSession, evaluation);
      await writeDebugReport(report.debug, values.report, undefined);
    }
    await writeFileAtomic(reportPath, JSON.stringify(report, null, 2) + "\n");
    if (!values.quiet) {
      console.log(debug ? formatSummary(report, report.tensors.length) : formatSummary(report));
      if (report.debug) console.log("\n" + formatDebugSummary(report.debug));
      if (native) {
        console.log(
          `\nNative ${values.target} artifact: ${native.program.ops.length} ops, arena ${native.program.arenaSize} bytes, ` +
            `weights ${native.weightBytes} bytes, file ${native.bytes.length} bytes`,
        );
      }
      console.log(`\nWrote ${out} and ${reportPath}${values.report ? ` and ${values.report}` : ""}`);
    }
  } finally {
    await transport?.close();
  }
}

if (import.meta.main) await runMain(() => quantMain(Deno.args));
