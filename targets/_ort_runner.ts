/**
 * What the qdq-onnx targets share: ONNX Runtime's CPU provider runs every scheme feature and every op
 * of its domains, and the on-device runner (devices/runner/ort_runner.c) built by
 * scripts/runner/build.sh, invoked as notes/runner_contract.md says.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { checkOrtOps, checkSchemes } from "./_support.ts";
import { type RunnerBuild, type RunRequest, SCHEME_FEATURES, type SchemeFeature, type Target } from "./target.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The runner's build architectures (npm onnxruntime-node's folder names). */
export type OrtRunnerArch = "x64" | "arm64";

const builds = new Map<OrtRunnerArch, Promise<RunnerBuild>>();

/**
 * Builds the runner for `arch` once per process: int8-runner and the libonnxruntime.so.1 it loads
 * from its own directory.
 *
 * @example
 * ```ts ignore
 * const { files } = await buildOrtRunner("arm64");
 * files.map((f) => f.name); // ["int8-runner", "libonnxruntime.so.1"]
 * ```
 */
export function buildOrtRunner(arch: OrtRunnerArch): Promise<RunnerBuild> {
  let build = builds.get(arch);
  if (!build) {
    build = (async () => {
      const r = await new Deno.Command(`${ROOT}scripts/runner/build.sh`, { args: [arch] }).output();
      if (r.code !== 0) {
        throw new Error(`Building the ONNX Runtime runner for ${arch} failed:\n${new TextDecoder().decode(r.stderr)}`);
      }
      const dir = new TextDecoder().decode(r.stdout).trim();
      return {
        files: [
          { local: `${dir}/int8-runner`, name: "int8-runner", mode: 0o755 },
          { local: `${dir}/libonnxruntime.so.1`, name: "libonnxruntime.so.1", mode: 0o644 },
        ],
      };
    })();
    // A failed build is not cached: the next call tries again.
    build.catch(() => builds.delete(arch));
    builds.set(arch, build);
  }
  return build;
}

function count(flag: string, value: number | undefined, min: number): string[] {
  if (value === undefined) return [];
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${flag} must be an integer ≥ ${min}, got ${value}`);
  }
  return [flag, String(value)];
}

/**
 * The int8-runner command line for a request.
 *
 * @example
 * ```ts
 * import { ortRunnerArgv } from "./_ort_runner.ts";
 * ortRunnerArgv({ dir: "/tmp/q", model: "/tmp/q/m.onnx", inputs: [{ name: "x", file: "/tmp/q/x.npy" }], outDir: "/tmp/q/out", threads: 2, pin: [2, 3] });
 * // ["/tmp/q/int8-runner", "--model", "/tmp/q/m.onnx", "--input", "x=/tmp/q/x.npy", "--out-dir", "/tmp/q/out",
 * //  "--threads", "2", "--pin", "2,3"]
 * ```
 */
export function ortRunnerArgv(request: RunRequest): string[] {
  if (request.inputs.length === 0) throw new Error("The runner needs at least one --input");
  const argv = [`${request.dir.replace(/\/+$/, "")}/int8-runner`, "--model", request.model];
  for (const input of request.inputs) {
    if (!input.name || input.name.includes("=")) {
      throw new Error(`Input name "${input.name}" cannot be passed as NAME=FILE`);
    }
    argv.push("--input", `${input.name}=${input.file}`);
  }
  argv.push("--out-dir", request.outDir);
  argv.push(...count("--warmup", request.warmup, 0), ...count("--runs", request.runs, 1));
  argv.push(...count("--threads", request.threads, 1));
  if (request.pin && request.pin.length > 0) {
    if (request.pin.some((c) => !Number.isInteger(c) || c < 0)) {
      throw new RangeError(`--pin takes CPU numbers, got ${request.pin}`);
    }
    argv.push("--pin", request.pin.join(","));
  }
  argv.push(...count("--samples", request.samples, 1));
  return argv;
}

/** Every scheme feature: ONNX Runtime runs QDQ with int8, uint8 and int16, per tensor or per channel. */
export const ORT_SCHEMES: ReadonlySet<SchemeFeature> = new Set(Object.keys(SCHEME_FEATURES) as SchemeFeature[]);

const ORT_BITS = { min: 2, max: 8 } as const;

/**
 * A qdq-onnx target on ONNX Runtime's CPU provider with the runner built for `runnerArch`.
 *
 * @example
 * ```ts
 * import { ortTarget } from "./_ort_runner.ts";
 * const t = ortTarget({ name: "x", description: "x", arch: ["x86_64"], runnerArch: "x64" });
 * t.checkSupport({ nodes: [], schemes: new Map([["activations-int16", ["y"]]] as const) }); // []
 * ```
 */
export function ortTarget(spec: {
  name: string;
  description: string;
  arch: readonly string[];
  runnerArch: OrtRunnerArch;
}): Target {
  return {
    name: spec.name,
    description: spec.description,
    artifact: "qdq-onnx",
    arch: spec.arch,
    ops: "onnx-runtime-cpu",
    schemes: ORT_SCHEMES,
    weightBits: ORT_BITS,
    runner: "int8-runner",
    checkSupport: (features) => [...checkOrtOps(features.nodes), ...checkSchemes(ORT_SCHEMES, ORT_BITS, features)],
    runnerBuild: () => buildOrtRunner(spec.runnerArch),
    runArgv: ortRunnerArgv,
  };
}
