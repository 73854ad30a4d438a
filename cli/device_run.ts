/**
 * Runs an ONNX model on a device through the on-device ONNX Runtime runner
 * (devices/runner/ort_runner.c): pushes the runner (once per content), the
 * model and the inputs as `.npy`, runs it with warm-ups and timed runs, pulls
 * every output back. Works over any transport of devices/.
 *
 * @module
 */

import type { HostTensor } from "../core/exec/executor.ts";
import { DeviceError, type DeviceInfo, sha256Hex, type Transport } from "../devices/transport.ts";
import { parseRunnerReport, type RunnerReport } from "../devices/runner/report.ts";
import type { RunnerFile, RunRequest } from "../targets/target.ts";
import { encodeNpy, parseNpy } from "./npy.ts";

export type { RunnerReport };

/** One run of a model on the device. */
export interface DeviceRunRequest {
  /** ONNX model bytes. */
  model: Uint8Array;
  /** Every model input, K samples stacked on axis 0. */
  inputs: Record<string, HostTensor>;
  warmup: number;
  runs: number;
  threads: number;
  /** CPUs to pin thread i to (pin[i mod n]). */
  pin?: readonly number[];
  /** Kill the runner after this long (default 10 minutes). */
  timeoutMs?: number;
}

/** The outputs of a device run (integers as floats), its latency and its costs. */
export interface DeviceRunResult {
  outputs: Map<string, HostTensor>;
  report: RunnerReport;
  pushMs: number;
  runMs: number;
  pullMs: number;
  bytesPushed: number;
  bytesPulled: number;
}

/**
 * The device directory the runner lives in: under the URL's own directory when it names one
 * (`ssh://pi@board/home/pi/work`, `local:///tmp/x`), else /data/local/tmp on Android (no writable
 * /tmp there) and /tmp elsewhere.
 *
 * @example
 * ```ts
 * import { defaultRemoteDir } from "./device_run.ts";
 * defaultRemoteDir("adb://"); // "/data/local/tmp/int8-toolchain"
 * defaultRemoteDir("ssh://pi@board:2222/home/pi"); // "/home/pi/int8-toolchain"
 * ```
 */
export function defaultRemoteDir(url: string): string {
  let path = "";
  try {
    const u = new URL(url);
    if (u.protocol !== "serial:") path = decodeURIComponent(u.pathname).replace(/\/+$/, "");
  } catch {
    // An unparsable URL is reported by the transport.
  }
  if (path) return `${path}/int8-toolchain`;
  return url.startsWith("adb:") ? "/data/local/tmp/int8-toolchain" : "/tmp/int8-toolchain";
}

/**
 * Pushes runner files into a device directory, skipping those whose SHA-256 on the device already
 * matches; returns the bytes pushed.
 *
 * @example
 * ```ts ignore
 * const pushed = await installFiles(transport, (await target.runnerBuild()).files, "/tmp/int8-toolchain");
 * ```
 */
export async function installFiles(t: Transport, files: readonly RunnerFile[], dir: string): Promise<number> {
  let pushed = 0;
  for (const f of files) {
    const data = await Deno.readFile(f.local);
    const remote = `${dir}/${f.name}`;
    const probe = await t.exec(["sha256sum", remote], { check: false, timeoutMs: 30_000 });
    if (probe.code === 0 && new TextDecoder().decode(probe.stdout).startsWith(await sha256Hex(data))) continue;
    await t.push(data, remote, { mode: f.mode });
    pushed += data.length;
  }
  return pushed;
}

/**
 * The ORT runner installed on one device.
 *
 * @example
 * ```ts ignore
 * const build = await target.runnerBuild();
 * const runner = new DeviceOrtRunner(transport, build.files, "/tmp/int8-toolchain", target.runArgv);
 * await runner.install();
 * const r = await runner.run({ model, inputs, warmup: 3, runs: 20, threads: 1 });
 * r.report.latencyUs.median;
 * ```
 */
export class DeviceOrtRunner {
  private installedBytes = 0;
  private installMs = 0;

  constructor(
    readonly transport: Transport,
    readonly files: readonly RunnerFile[],
    readonly remoteDir: string,
    /** The runner's command line (the target's runArgv). */
    readonly argvFor: (request: RunRequest) => string[],
  ) {}

  /** Pushes the runner files that are missing or differ on the device (compared by SHA-256 there). */
  async install(): Promise<void> {
    const t0 = performance.now();
    this.installedBytes += await installFiles(this.transport, this.files, this.remoteDir);
    this.installMs = performance.now() - t0;
  }

  /** Runs a model once with the request's samples; outputs by graph output name. */
  async run(request: DeviceRunRequest): Promise<DeviceRunResult> {
    const t = this.transport;
    const modelSum = (await sha256Hex(request.model)).slice(0, 16);
    const work = `${this.remoteDir}/run-${modelSum}`;
    const t0 = performance.now();
    let bytesPushed = this.installedBytes;
    await t.push(request.model, `${work}/model.onnx`);
    bytesPushed += request.model.length;
    const inputs: { name: string; file: string }[] = [];
    for (const [name, tensor] of Object.entries(request.inputs)) {
      const npy = encodeNpy(tensor.dims, tensor.data);
      const file = `${work}/in${inputs.length}.npy`;
      await t.push(npy, file);
      bytesPushed += npy.length;
      inputs.push({ name, file });
    }
    const t1 = performance.now();
    const argv = this.argvFor({
      dir: this.remoteDir,
      model: `${work}/model.onnx`,
      inputs,
      outDir: `${work}/out`,
      warmup: request.warmup,
      runs: request.runs,
      threads: request.threads,
      ...(request.pin ? { pin: request.pin } : {}),
    });
    const result = await t.exec(argv, { timeoutMs: request.timeoutMs ?? 600_000 });
    const t2 = performance.now();
    let report: RunnerReport;
    try {
      report = parseRunnerReport(new TextDecoder().decode(result.stdout), `${t.url}:${argv[0]}`);
    } catch (e) {
      throw new DeviceError("protocol", (e as Error).message);
    }
    const outputs = new Map<string, HostTensor>();
    let bytesPulled = 0;
    for (const o of report.outputs) {
      const bytes = await t.pull(`${work}/out/${o.file}`);
      bytesPulled += bytes.length;
      const array = parseNpy(bytes, `${t.url}:${work}/out/${o.file} (output "${o.name}")`);
      outputs.set(o.name, { data: array.data, dims: [...array.dims] });
    }
    await t.exec(["rm", "-rf", work], { check: false, timeoutMs: 30_000 });
    const t3 = performance.now();
    return {
      outputs,
      report,
      pushMs: t1 - t0 + this.installMs,
      runMs: t2 - t1,
      pullMs: t3 - t2,
      bytesPushed,
      bytesPulled,
    };
  }
}

/** Device facts: the runner's own view, completed by the transport's. */
export function mergeDeviceInfo(runner: RunnerReport["device"] | undefined, transport: DeviceInfo): DeviceInfo {
  return {
    arch: runner?.arch ?? transport.arch,
    cpuModel: runner?.cpuModel ?? transport.cpuModel,
    cores: runner?.cores ?? transport.cores,
    os: runner?.os ?? transport.os,
  };
}
