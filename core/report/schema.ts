/**
 * The debug report's data model: one JSON document per (float model,
 * quantized model, data) triple, written by `deno task debug`, by
 * `deno task quant --report`, and by device runs that dump int8 tensors on
 * hardware. Keys are stable within a schema version; absent values are
 * `null`, never missing. {@link DEBUG_REPORT_JSON_SCHEMA} is the same
 * contract as a JSON Schema, and {@link validateDebugReport} checks a value
 * against it.
 *
 * @module
 */

/** Schema identifier written in every report. */
export const DEBUG_REPORT_SCHEMA = "int8-toolchain/debug-report@1";

/** End-to-end comparison of one variant of the model with the float model. */
export interface VariantMetrics {
  /** Mean per-sample cosine of the variant's output vs the float output. */
  cosine: number;
  /** Share of samples whose top-1 class matches the float model's (classifier outputs only). */
  top1Agreement: number | null;
  /** Top-1 accuracy against labels, when the data has labels. */
  accuracy: number | null;
}

/** A concrete next step for one tensor, with the metric that triggered it. */
export interface Advice {
  action: "skip" | "switch-method" | "more-bits" | "per-channel" | "check-input";
  message: string;
}

/** Everything the report says about one quantized tensor. */
export interface TensorEntry {
  /** Position along the graph order: the chart's x axis. */
  index: number;
  /** Name in the float model. */
  tensor: string;
  /** Name in the quantized model (differs for graph inputs and foreign models). */
  quantizedName: string;
  /** Op of the float-model node producing it (`input` for graph inputs). */
  op: string;
  /** That node's name. */
  node: string;
  /** What `--skip` takes to keep this tensor's layer in float: the node, and a weighted node fused before it. */
  skip: string[];
  scale: number;
  zeroPoint: number;
  qmin: number;
  qmax: number;
  /** Representable float range: (qmin − zeroPoint)·scale and (qmax − zeroPoint)·scale. */
  clipMin: number;
  clipMax: number;
  /** Float-tensor extremes over the debug samples. */
  observedMin: number;
  observedMax: number;
  /** Representable extent over observed extent on the side the data reaches furthest (< 1: clipped). */
  thresholdRatio: number | null;
  /** MNN cosine similarity, float vs simulated int8, mean over samples. */
  cosine: number;
  minCosine: number;
  /** MNN overflow rate: share of int8 values at the ends of the integer range. */
  overflowRate: number;
  /** tpu-mlir euclidean similarity 1 − ‖a−b‖ / ‖(a+b)/2‖. */
  euclidean: number;
  /** tpu-mlir SQNR in dB; null when the int8 tensor equals the float one exactly. */
  sqnrDb: number | null;
  /** Shares of float values beyond the representable range, below and above. */
  saturationLow: number;
  saturationHigh: number;
  /** Share of values non-zero in float that quantize to zero. */
  roundedToZero: number;
  /** Samples the metrics are averaged over. */
  samples: number;
  /** Whether the weights of the node producing it have one scale per channel; null: no weights. */
  weightsPerChannel: boolean | null;
  /** End-to-end output with only this tensor (and its node's weights) quantized, and with all but it. */
  sensitivity: { onlyThis: VariantMetrics; allButThis: VariantMetrics } | null;
  advice: Advice[];
  /** Histogram of the float values: equal bins over [min, max). */
  histogram: { min: number; max: number; counts: number[] };
  /** Sampled (float, int8) value pairs, sorted by the float value. */
  scatter: { float: number[]; quantized: number[] };
}

/** End-to-end comparison of one model output over the data. */
export interface OutputEntry {
  output: string;
  cosine: number;
  top1Agreement: number | null;
  floatAccuracy: number | null;
  int8Accuracy: number | null;
  samples: number;
}

/** How the sensitivity views were computed. */
export interface SensitivitySummary {
  /** The output the variants are compared on. */
  output: string;
  /** Samples every variant ran on (the first ones of the data). */
  samples: number;
  /** The float model and the fully quantized model on those samples. */
  float: VariantMetrics;
  allQuantized: VariantMetrics;
  /** Model segments the variants were cut into (prefix reuse) and runtime calls made. */
  segments: number;
  runs: number;
}

/** Latency statistics of timed runs, in microseconds. */
export interface LatencyStats {
  min: number;
  median: number;
  p90: number;
  max: number;
  mean: number;
}

/** Where the int8 tensors of a device run came from, and how fast the device ran the model. */
export interface DeviceSection {
  /** The device URL (no credentials), e.g. `ssh://pi@board:22`. */
  url: string;
  /** The target the model was built for (host, arm64, armv7, cortex-m). */
  target: string;
  /** What the device says it is; null where it cannot tell. */
  arch: string | null;
  cpuModel: string | null;
  cores: number | null;
  os: string | null;
  /** The runtime that ran the model on the device, with its version. */
  runtime: string;
  threads: number | null;
  warmup: number;
  runs: number;
  /** Per-run latency of the timed runs (one sample each). */
  latencyUs: LatencyStats;
  /** Core cycles per run where the device counts them (MCU), else null. */
  cycles: number | null;
  /** Wall time of moving files and running, as seen from the host. */
  transfer: { pushMs: number; runMs: number; pullMs: number; bytesPushed: number; bytesPulled: number };
}

/** The whole debug report. */
export interface DebugReport {
  schema: typeof DEBUG_REPORT_SCHEMA;
  /** Float model and quantized model, as given. */
  model: string;
  quantized: string;
  /** What produced the int8 tensors, e.g. "onnxruntime-cpu (simulated QDQ)" or a device name. */
  runtime: string;
  data: { source: string; samples: number; labelled: boolean };
  outputs: OutputEntry[];
  /** Quantized tensors matched with the float model, in graph order. */
  tensors: TensorEntry[];
  /** Tensor indices, worst first, and the metric that orders them. */
  ranking: { by: "sensitivity" | "cosine"; order: number[] };
  sensitivity: SensitivitySummary | null;
  /** Quantized tensors that could not be compared, with why. */
  unmatched: { tensor: string; reason: string }[];
  /** Caveats a reader should know (sample subsets, weights that stayed int8, …). */
  notes: string[];
  timings: { statsMs: number; sensitivityMs: number; totalMs: number };
  /** The device run the int8 tensors came from; null for a host run (and absent in reports written before it). */
  device?: DeviceSection | null;
}

type JsonSchema = Record<string, unknown>;

const num: JsonSchema = { type: "number" };
const numOrNull: JsonSchema = { type: ["number", "null"] };
const str: JsonSchema = { type: "string" };
const strOrNull: JsonSchema = { type: ["string", "null"] };
const obj = (properties: Record<string, JsonSchema>): JsonSchema => ({
  type: "object",
  required: Object.keys(properties),
  properties,
});
const arr = (items: JsonSchema): JsonSchema => ({ type: "array", items });
const variant = obj({ cosine: num, top1Agreement: numOrNull, accuracy: numOrNull });

/**
 * The report as a JSON Schema (draft 2020-12 keywords: type, required,
 * properties, items, enum, const).
 *
 * @example
 * ```ts
 * import { DEBUG_REPORT_JSON_SCHEMA } from "./schema.ts";
 * Object.keys(DEBUG_REPORT_JSON_SCHEMA.properties as object).includes("tensors"); // true
 * ```
 */
export const DEBUG_REPORT_JSON_SCHEMA: JsonSchema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: DEBUG_REPORT_SCHEMA,
  title: "int8-toolchain per-layer debug report",
  ...obj({
    schema: { const: DEBUG_REPORT_SCHEMA },
    model: str,
    quantized: str,
    runtime: str,
    data: obj({ source: str, samples: num, labelled: { type: "boolean" } }),
    outputs: arr(obj({
      output: str,
      cosine: num,
      top1Agreement: numOrNull,
      floatAccuracy: numOrNull,
      int8Accuracy: numOrNull,
      samples: num,
    })),
    tensors: arr(obj({
      index: num,
      tensor: str,
      quantizedName: str,
      op: str,
      node: str,
      skip: arr(str),
      scale: num,
      zeroPoint: num,
      qmin: num,
      qmax: num,
      clipMin: num,
      clipMax: num,
      observedMin: num,
      observedMax: num,
      thresholdRatio: numOrNull,
      cosine: num,
      minCosine: num,
      overflowRate: num,
      euclidean: num,
      sqnrDb: numOrNull,
      saturationLow: num,
      saturationHigh: num,
      roundedToZero: num,
      samples: num,
      weightsPerChannel: { type: ["boolean", "null"] },
      sensitivity: { ...obj({ onlyThis: variant, allButThis: variant }), type: ["object", "null"] },
      advice: arr(obj({
        action: { enum: ["skip", "switch-method", "more-bits", "per-channel", "check-input"] },
        message: str,
      })),
      histogram: obj({ min: num, max: num, counts: arr(num) }),
      scatter: obj({ float: arr(num), quantized: arr(num) }),
    })),
    ranking: obj({ by: { enum: ["sensitivity", "cosine"] }, order: arr(num) }),
    sensitivity: {
      ...obj({ output: str, samples: num, float: variant, allQuantized: variant, segments: num, runs: num }),
      type: ["object", "null"],
    },
    unmatched: arr(obj({ tensor: str, reason: str })),
    notes: arr(str),
    timings: obj({ statsMs: num, sensitivityMs: num, totalMs: num }),
    device: {
      ...obj({
        url: str,
        target: str,
        arch: strOrNull,
        cpuModel: strOrNull,
        cores: numOrNull,
        os: strOrNull,
        runtime: str,
        threads: numOrNull,
        warmup: num,
        runs: num,
        latencyUs: obj({ min: num, median: num, p90: num, max: num, mean: num }),
        cycles: numOrNull,
        transfer: obj({ pushMs: num, runMs: num, pullMs: num, bytesPushed: num, bytesPulled: num }),
      }),
      type: ["object", "null"],
    },
  }),
};
// Reports written before device runs existed have no "device" key: it is the one optional key.
(DEBUG_REPORT_JSON_SCHEMA.required as string[]).splice(
  (DEBUG_REPORT_JSON_SCHEMA.required as string[]).indexOf("device"),
  1,
);

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function check(schema: JsonSchema, value: unknown, path: string, errors: string[]): void {
  if ("const" in schema && value !== schema.const) {
    errors.push(`${path}: expected ${JSON.stringify(schema.const)}, got ${JSON.stringify(value)}`);
    return;
  }
  if ("enum" in schema && !(schema.enum as unknown[]).includes(value)) {
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
    return;
  }
  if (schema.type !== undefined) {
    const allowed = Array.isArray(schema.type) ? schema.type as string[] : [schema.type as string];
    const actual = typeOf(value);
    if (!allowed.includes(actual)) {
      errors.push(`${path}: expected ${allowed.join(" or ")}, got ${actual}`);
      return;
    }
    if (actual === "number" && !Number.isFinite(value)) errors.push(`${path}: ${value} is not a finite number`);
    if (actual === "null") return;
  }
  if (schema.properties && typeOf(value) === "object") {
    const record = value as Record<string, unknown>;
    for (const key of (schema.required as string[] | undefined) ?? []) {
      if (!(key in record)) errors.push(`${path}: missing key "${key}"`);
    }
    for (const [key, sub] of Object.entries(schema.properties as Record<string, JsonSchema>)) {
      if (key in record) check(sub, record[key], `${path}.${key}`, errors);
    }
  }
  if (schema.items && Array.isArray(value)) {
    value.forEach((item, i) => check(schema.items as JsonSchema, item, `${path}[${i}]`, errors));
  }
}

/**
 * Checks a parsed JSON value against {@link DEBUG_REPORT_JSON_SCHEMA}; returns
 * the problems found (empty when it conforms), each naming the JSON path.
 *
 * @example
 * ```ts
 * import { validateDebugReport } from "./schema.ts";
 * validateDebugReport({ schema: "something else" })[0]; // '$.schema: expected "int8-toolchain/debug-report@1", …'
 * ```
 */
export function validateDebugReport(value: unknown): string[] {
  const errors: string[] = [];
  check(DEBUG_REPORT_JSON_SCHEMA, value, "$", errors);
  return errors;
}
