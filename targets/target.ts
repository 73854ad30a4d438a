/**
 * What a deployment target is: the artifact it runs, the device architectures it expects, the ops and
 * quantization schemes its runtime supports (with one check that lists everything a model needs and
 * the target lacks), and how to build and invoke its on-device runner. One file per target
 * (host.ts, arm64.ts, armv7.ts, cortex_m.ts); mod.ts lists them.
 *
 * @module
 */

/** The artifact a target runs: the QDQ ONNX model itself, or the native runtime's `.qm` (targets/native/). */
export type ArtifactKind = "qdq-onnx" | "native-qm";

/**
 * The quantization features a model may use, with how an error names each. Data, not branches: a
 * target lists the ones its runtime runs.
 */
export const SCHEME_FEATURES = {
  "weights-per-tensor": "per-tensor weights",
  "weights-per-channel": "per-channel weights",
  "weights-asymmetric": "asymmetric weights (non-zero weight zero points)",
  "weights-uint8": "uint8 weights",
  "activations-int8": "int8 activations",
  "activations-uint8": "uint8 (asymmetric) activations",
  "activations-int16": "int16 activations",
} as const;

/** One quantization feature of {@link SCHEME_FEATURES}. */
export type SchemeFeature = keyof typeof SCHEME_FEATURES;

/** One node of the model, as far as support is concerned. */
export interface NodeUse {
  name: string;
  opType: string;
  domain: string;
  /** The node runs on quantized tensors (reads a dequantized tensor or feeds a QuantizeLinear). */
  quantized: boolean;
  /** At least one output is a float tensor (not int64 shape arithmetic). */
  producesFloat: boolean;
  /** Every input is a constant (an initializer or a constant node's output): compilers fold it away. */
  constant: boolean;
}

/** What a quantized model needs from a target: built by targets/features.ts from a plan or a QDQ model. */
export interface QuantFeatures {
  /** Every compute node (QuantizeLinear/DequantizeLinear excluded). */
  nodes: readonly NodeUse[];
  /** Each scheme feature used, with the tensors (or weights) that use it. */
  schemes: ReadonlyMap<SchemeFeature, readonly string[]>;
  /** Bits of weights and activations (MNN quant_bits), when known. */
  bits?: number;
}

/** One thing a target cannot do for a model. */
export interface Unsupported {
  kind: "op" | "scheme" | "bits";
  /** e.g. "Softmax", "int16 activations", "3-bit weights". */
  what: string;
  /** Why, when it is not just "no kernel" (e.g. "left in float"). */
  reason: string;
  /** The nodes or tensors concerned (at most a few listed in messages). */
  where: readonly string[];
}

/** A file the runner needs on the device, next to the others (one directory). */
export interface RunnerFile {
  /** Path on the host. */
  local: string;
  /** File name on the device. */
  name: string;
  /** Unix mode, e.g. 0o755. */
  mode: number;
}

/** What building a target's runner produced. */
export interface RunnerBuild {
  /** Files to push into one device directory (none for a board that boots a firmware). */
  files: RunnerFile[];
  /** A firmware image the board boots instead (Cortex-M: qemu-system-arm -kernel, or a flasher). */
  firmware?: string;
}

/**
 * How the runner is invoked:
 * - `int8-runner`: notes/runner_contract.md — .npy inputs/outputs, one JSON line with timings;
 * - `qm_run`: runtime/tools/qm_run.c — one raw input file (per sample, every input's bytes), raw output;
 * - `serial-firmware`: the framed UART protocol of runtime/firmware/ (devices/_serial_protocol.ts), over serial://.
 */
export type RunnerKind = "int8-runner" | "qm_run" | "serial-firmware";

/** One run of the runner on the device; every path is a device path. */
export interface RunRequest {
  /** Directory holding the runner's files. */
  dir: string;
  /** The artifact (model) file. */
  model: string;
  /** Input files by model input name (.npy for int8-runner; one raw file for qm_run). */
  inputs: readonly { name: string; file: string }[];
  /** Where outputs go (int8-runner: DIR/<index>.npy; qm_run: DIR/0.bin). */
  outDir: string;
  warmup?: number;
  runs?: number;
  /** Intra-op threads. */
  threads?: number;
  /** CPUs to pin thread i to (pin[i mod n]). */
  pin?: readonly number[];
  /** Samples to run (default: all in the first input file). */
  samples?: number;
}

/**
 * A deployment target.
 *
 * @example
 * ```ts
 * import { targetByName } from "./mod.ts";
 * const t = targetByName("arm64");
 * t.artifact; // "qdq-onnx"
 * t.arch.includes("aarch64"); // true
 * ```
 */
export interface Target {
  /** Registry name, e.g. "host", "arm64", "armv7", "cortex-m". */
  readonly name: string;
  readonly description: string;
  readonly artifact: ArtifactKind;
  /** For native-qm targets: the native compiler's target (targets/native/targets.ts). */
  readonly nativeTarget?: string;
  /** Device architectures this target's runner runs on, as `uname -m` (or the firmware) reports them. */
  readonly arch: readonly string[];
  /** ONNX op types it runs; "onnx-runtime-cpu": whatever ONNX Runtime's CPU provider runs (no list kept here). */
  readonly ops: ReadonlySet<string> | "onnx-runtime-cpu";
  /** Quantization features its runtime runs. */
  readonly schemes: ReadonlySet<SchemeFeature>;
  /** Weight (and activation) bit widths accepted, inclusive. */
  readonly weightBits: { readonly min: number; readonly max: number };
  readonly runner: RunnerKind;
  /** Everything `features` needs that this target cannot do; empty when the model can run. */
  checkSupport(features: QuantFeatures): Unsupported[];
  /** Builds (once per process) the runner files for the device. */
  runnerBuild(): Promise<RunnerBuild>;
  /** The runner's command line on the device. Throws for a target without one (serial firmware). */
  runArgv(request: RunRequest): string[];
  /** For a runner whose run prints no timings (qm_run): the command that times the model instead. */
  timeArgv?(request: RunRequest): string[];
}

/** Thrown when a model needs what a target lacks; `unsupported` lists all of it. */
export class TargetSupportError extends Error {
  override name = "TargetSupportError";
  constructor(readonly target: string, readonly unsupported: readonly Unsupported[]) {
    super(
      `The ${target} target cannot run this model:\n` +
        unsupported.map((u) => `  ${u.kind} ${u.what}: ${u.reason}${whereText(u.where)}`).join("\n"),
    );
  }
}

function whereText(where: readonly string[]): string {
  if (where.length === 0) return "";
  const shown = where.slice(0, 5).map((w) => `"${w}"`).join(", ");
  return ` (${shown}${where.length > 5 ? `, and ${where.length - 5} more` : ""})`;
}

/**
 * Throws a {@link TargetSupportError} listing everything `target` cannot do for `features`.
 *
 * @example
 * ```ts
 * import { assertSupported } from "./target.ts";
 * import { targetByName } from "./mod.ts";
 * const features = { nodes: [], schemes: new Map([["activations-int16", ["x"]]] as const) };
 * try {
 *   assertSupported(targetByName("cortex-m"), features);
 * } catch (e) {
 *   (e as Error).message; // "The cortex-m target cannot run this model:\n  scheme int16 activations: …"
 * }
 * ```
 */
export function assertSupported(target: Target, features: QuantFeatures): void {
  const unsupported = target.checkSupport(features);
  if (unsupported.length > 0) throw new TargetSupportError(target.name, unsupported);
}
