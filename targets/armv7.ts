/**
 * The armv7 target: 32-bit ARM Linux boards. ONNX Runtime ships no linux/arm build, so the QDQ model
 * is compiled to the native runtime's `.qm` (targets/native/) and run by its `qm_run`, built static
 * for armv7 by scripts/native/build.sh armv7 (no libraries needed on the board).
 *
 * @module
 */

import { checkNative, NATIVE_BITS, NATIVE_SCHEMES } from "./_native_target.ts";
import { buildRuntime } from "./native/runtime.ts";
import { targetSpec } from "./native/targets.ts";
import type { RunRequest, Target } from "./target.ts";

function qmRun(request: RunRequest): string {
  return `${request.dir.replace(/\/+$/, "")}/qm_run`;
}

/**
 * 32-bit ARM Linux, the native runtime's qm_run.
 *
 * `runArgv`: `qm_run MODEL.qm INPUT.bin OUTDIR/0.bin` — one raw input file holding, per sample, every
 * input's quantized bytes; the output file holds, per sample, every output's bytes. It prints no
 * timings: `timeArgv` gives `qm_run MODEL.qm --time RUNS` (µs per run on a zero input, on stdout).
 *
 * @example
 * ```ts
 * import { ARMV7 } from "./armv7.ts";
 * ARMV7.runArgv({ dir: "/tmp/q", model: "/tmp/q/m.qm", inputs: [{ name: "all", file: "/tmp/q/in.bin" }], outDir: "/tmp/q" });
 * // ["/tmp/q/qm_run", "/tmp/q/m.qm", "/tmp/q/in.bin", "/tmp/q/0.bin"]
 * ```
 */
export const ARMV7: Target = {
  name: "armv7",
  description: "32-bit ARM Linux boards: the native runtime's qm_run (static), the model compiled to .qm",
  artifact: "native-qm",
  nativeTarget: "host-native",
  // A 32-bit userland on a 64-bit ARM kernel reports armv8l.
  arch: ["armv7l", "armv8l"],
  ops: targetSpec("host-native").ops,
  schemes: NATIVE_SCHEMES,
  weightBits: NATIVE_BITS,
  runner: "qm_run",
  checkSupport: (features) => checkNative("armv7", "host-native", features),
  async runnerBuild() {
    return { files: [{ local: await buildRuntime("armv7"), name: "qm_run", mode: 0o755 }] };
  },
  runArgv(request) {
    if (request.inputs.length !== 1) {
      throw new Error(`qm_run takes one raw input file (every input's bytes per sample), got ${request.inputs.length}`);
    }
    if ((request.threads ?? 1) !== 1 || (request.pin?.length ?? 0) > 0) {
      throw new Error("qm_run runs on one thread and pins nothing: --threads and --pin do not apply to armv7");
    }
    return [qmRun(request), request.model, request.inputs[0]!.file, `${request.outDir.replace(/\/+$/, "")}/0.bin`];
  },
  timeArgv: (request) => [qmRun(request), request.model, "--time", String(request.runs ?? 20)],
};
