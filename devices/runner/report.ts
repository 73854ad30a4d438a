/**
 * The one JSON line int8-runner prints on success (notes/runner_contract.md), parsed and checked.
 *
 * @module
 */

/** Latency statistics of the timed runs, in microseconds. */
export interface LatencyUs {
  min: number;
  median: number;
  p90: number;
  max: number;
  mean: number;
}

/** One graph output as the runner wrote it. */
export interface RunnerOutput {
  name: string;
  /** File name inside the output directory ("<index>.npy"). */
  file: string;
  dtype: string;
  /** Shape of the file: the samples concatenated on axis 0. */
  shape: number[];
}

/** What the runner reports. */
export interface RunnerReport {
  /** "int8-runner/1". */
  runner: string;
  /** ONNX Runtime version the runner loaded, e.g. "1.30.0". */
  ort: string;
  threads: number;
  warmup: number;
  runs: number;
  samples: number;
  latencyUs: LatencyUs;
  outputs: RunnerOutput[];
  device: { arch: string | null; cpuModel: string | null; cores: number | null; os: string | null };
}

function fail(what: string, problem: string): never {
  throw new Error(`Cannot parse the runner report of ${what}: ${problem}`);
}

function num(value: unknown, key: string, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) fail(what, `"${key}" is not a number`);
  return value;
}

function strOrNull(value: unknown, key: string, what: string): string | null {
  if (value !== null && typeof value !== "string") fail(what, `"${key}" is not a string`);
  return value;
}

/**
 * Parses the runner's stdout (exactly one JSON line) and checks every field; `what` names the run in
 * errors.
 *
 * @example
 * ```ts
 * import { parseRunnerReport } from "./report.ts";
 * const line = JSON.stringify({
 *   runner: "int8-runner/1", ort: "1.30.0", threads: 1, warmup: 3, runs: 20, samples: 1,
 *   latencyUs: { min: 1, median: 2, p90: 3, max: 4, mean: 2.5 },
 *   outputs: [{ name: "y", file: "0.npy", dtype: "float32", shape: [1, 10] }],
 *   device: { arch: "aarch64", cpuModel: null, cores: 4, os: "Linux 6.1" },
 * });
 * parseRunnerReport(line + "\n", "board").latencyUs.median; // 2
 * ```
 */
export function parseRunnerReport(stdout: string, what: string): RunnerReport {
  const lines = stdout.split("\n").filter((l) => l.trim() !== "");
  if (lines.length !== 1) fail(what, `expected one line on stdout, got ${lines.length}`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(lines[0]!);
  } catch (e) {
    fail(what, (e as Error).message);
  }
  if (typeof raw !== "object" || raw === null) fail(what, "not an object");
  if (typeof raw.runner !== "string" || !raw.runner.startsWith("int8-runner/")) fail(what, `runner is ${raw.runner}`);
  if (typeof raw.ort !== "string") fail(what, `"ort" is not a string`);
  const l = raw.latencyUs as Record<string, unknown> | undefined;
  if (typeof l !== "object" || l === null) fail(what, `"latencyUs" is missing`);
  const latencyUs = {
    min: num(l.min, "latencyUs.min", what),
    median: num(l.median, "latencyUs.median", what),
    p90: num(l.p90, "latencyUs.p90", what),
    max: num(l.max, "latencyUs.max", what),
    mean: num(l.mean, "latencyUs.mean", what),
  };
  if (!Array.isArray(raw.outputs)) fail(what, `"outputs" is not an array`);
  const outputs = raw.outputs.map((o: Record<string, unknown>, i: number): RunnerOutput => {
    if (typeof o?.name !== "string" || typeof o.file !== "string" || typeof o.dtype !== "string") {
      fail(what, `outputs[${i}] lacks name, file or dtype`);
    }
    if (!Array.isArray(o.shape) || o.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      fail(what, `outputs[${i}].shape is not a list of sizes`);
    }
    return { name: o.name, file: o.file, dtype: o.dtype, shape: o.shape as number[] };
  });
  const d = raw.device as Record<string, unknown> | undefined;
  if (typeof d !== "object" || d === null) fail(what, `"device" is missing`);
  const cores = d.cores === null ? null : num(d.cores, "device.cores", what);
  return {
    runner: raw.runner,
    ort: raw.ort,
    threads: num(raw.threads, "threads", what),
    warmup: num(raw.warmup, "warmup", what),
    runs: num(raw.runs, "runs", what),
    samples: num(raw.samples, "samples", what),
    latencyUs,
    outputs,
    device: {
      arch: strOrNull(d.arch, "device.arch", what),
      cpuModel: strOrNull(d.cpuModel, "device.cpuModel", what),
      cores,
      os: strOrNull(d.os, "device.os", what),
    },
  };
}
