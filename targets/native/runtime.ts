/**
 * The C runtime from the host: build its runner (`qm_run`) for x86-64, aarch64 or armv7 Linux with
 * scripts/native/build.sh and run artifacts through it, natively or under qemu-user.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** Architectures the runner builds for. */
export type RuntimeArch = "host" | "aarch64" | "armv7";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const QEMU: Record<RuntimeArch, string | undefined> = { host: undefined, aarch64: "qemu-aarch64", armv7: "qemu-arm" };

/** Exit status of qm_run for each runtime status (10 + qm_status; runtime/src/qm.h). */
export const RUNNER_STATUS = {
  ok: 0,
  usage: 2,
  io: 3,
  truncated: 11,
  identifier: 12,
  version: 13,
  checksum: 14,
  malformed: 15,
  unsupported: 16,
  argument: 17,
} as const;

/** Result of one runner process. */
export interface RunnerResult {
  code: number;
  /** Set when the process died of a signal (a crash). */
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** A runner built with other flags, into its own folder out/native/<arch>-<name>. */
export interface RuntimeVariant {
  name: string;
  /** Replaces the optimization flags (default -O3), e.g. sanitizers. */
  opt?: string;
  /**
   * Replaces the target flags that choose the kernels (runtime/src/ops/simd.h; default -march=native on the
   * host, none for aarch64 and armv7), e.g. "-msse4.1", "-DQM_PORTABLE", "-mfpu=neon".
   */
  archFlags?: string;
}

/**
 * Builds the runner for `arch` (once per process; the build lands by an atomic rename, so other processes
 * running the previous binary are unaffected) and returns its path.
 * `variant` builds with other compiler flags into its own folder (sanitizers, another kernel path).
 *
 * @example
 * ```ts ignore
 * const runner = await buildRuntime("aarch64");
 * const portable = await buildRuntime("host", { name: "portable", archFlags: "-DQM_PORTABLE" });
 * ```
 */
export function buildRuntime(arch: RuntimeArch, variant?: RuntimeVariant): Promise<string> {
  const key = `${arch}|${variant?.name ?? ""}|${variant?.opt ?? ""}|${variant?.archFlags ?? ""}`;
  let build = builds.get(key);
  if (!build) {
    build = build_(arch, variant);
    builds.set(key, build);
  }
  return build;
}

const builds = new Map<string, Promise<string>>();

async function build_(arch: RuntimeArch, variant?: RuntimeVariant): Promise<string> {
  const env: Record<string, string> = {};
  if (variant) {
    if (variant.opt !== undefined) env.OPT = variant.opt;
    if (variant.archFlags !== undefined) env.ARCH_FLAGS = variant.archFlags;
    env.OUT = `${ROOT}out/native/${arch}-${variant.name}`;
  }
  const r = await new Deno.Command(`${ROOT}scripts/native/build.sh`, { args: [arch], env }).output();
  const stderr = new TextDecoder().decode(r.stderr);
  if (r.code !== 0) throw new Error(`Building the native runtime for ${arch} failed:\n${stderr}`);
  return new TextDecoder().decode(r.stdout).trim();
}

/**
 * Runs `qm_run` with arguments, under qemu-user for the ARM builds.
 *
 * @example
 * ```ts ignore
 * const r = await runRunner("host", runner, ["m.qm", "--check"]);
 * ```
 */
export async function runRunner(arch: RuntimeArch, runner: string, args: string[]): Promise<RunnerResult> {
  const qemu = QEMU[arch];
  const command = qemu ? new Deno.Command(qemu, { args: [runner, ...args] }) : new Deno.Command(runner, { args });
  const r = await command.output();
  const text = new TextDecoder();
  return { code: r.code, signal: r.signal, stdout: text.decode(r.stdout), stderr: text.decode(r.stderr) };
}

/**
 * Runs an artifact on samples (each the concatenated bytes of every input) and returns, per sample,
 * the concatenated bytes of every output.
 *
 * @example
 * ```ts ignore
 * const outputs = await runArtifact("host", runner, artifactBytes, [inputBytes]);
 * ```
 */
export async function runArtifact(
  arch: RuntimeArch,
  runner: string,
  artifact: Uint8Array,
  samples: readonly Uint8Array[],
): Promise<Uint8Array[]> {
  const dir = await Deno.makeTempDir({ prefix: "qm_run_" });
  try {
    const total = samples.reduce((s, a) => s + a.length, 0);
    const input = new Uint8Array(total);
    let at = 0;
    for (const s of samples) {
      input.set(s, at);
      at += s.length;
    }
    await Deno.writeFile(`${dir}/m.qm`, artifact);
    await Deno.writeFile(`${dir}/in.bin`, input);
    const r = await runRunner(arch, runner, [`${dir}/m.qm`, `${dir}/in.bin`, `${dir}/out.bin`]);
    if (r.code !== 0) throw new Error(`qm_run (${arch}) exited with ${r.code} ${r.signal ?? ""}: ${r.stderr}`);
    const out = await Deno.readFile(`${dir}/out.bin`);
    const per = out.length / samples.length;
    return samples.map((_, i) => out.subarray(i * per, (i + 1) * per));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
