/**
 * `--device`: connect to the device, install the target's runner, run the
 * quantized model there (timed, then probed layer by layer) and turn what
 * comes back into the debug report, printing the latency line.
 *
 * @module
 */

import type { BatchSource } from "../core/quant/calibrate.ts";
import type { QuantizeResult } from "../core/pipeline.ts";
import type { DebugReport } from "../core/report/schema.ts";
import { type OpenOptions, openTransport, type Transport } from "../devices/mod.ts";
import type { Target } from "../targets/mod.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { defaultRemoteDir, DeviceOrtRunner } from "./device_run.ts";
import { deviceDebugReport } from "./device_report.ts";
import { nativeDeviceReport } from "./device_native.ts";
import type { NativeArtifact } from "../targets/native/mod.ts";

/**
 * Opens and connects the transport of a device URL.
 *
 * @example
 * ```ts ignore
 * const t = await connectDevice("ssh://pi@board", { trustHostKey: false });
 * await t.close();
 * ```
 */
export async function connectDevice(url: string, options: OpenOptions): Promise<Transport> {
  const transport = openTransport(url, options);
  try {
    await transport.connect();
  } catch (e) {
    await transport.close().catch(() => {});
    throw e;
  }
  return transport;
}

/** Everything a device run needs. */
export interface DeviceRunOptions {
  transport: Transport;
  target: Target;
  result: QuantizeResult;
  /** The native artifact, for native-qm targets. */
  native: NativeArtifact | undefined;
  source: BatchSource;
  threads: number;
  warmup: number;
  runs: number;
  samples: number;
  pin: number[] | undefined;
  timeoutMs: number;
  /** Device directory for the runner and the runs (default: {@link defaultRemoteDir}). */
  deviceDir: string | undefined;
  names: { model: string; quantized: string; source: string };
  quiet: boolean;
}

const us = (x: number) => x >= 1000 ? `${(x / 1000).toFixed(2)} ms` : `${x.toFixed(1)} µs`;

/**
 * Runs the quantized model on the device and returns the debug report made from its tensors.
 *
 * @example
 * ```ts ignore
 * const report = await runOnDevice({ transport, target: targetByName("arm64"), result, native: undefined,
 *   source, threads: 1, warmup: 3, runs: 20, samples: 8, pin: undefined, timeoutMs: 600_000, deviceDir: undefined,
 *   names: { model: "m.onnx", quantized: "m.int8.onnx", source: "calib/" }, quiet: false });
 * ```
 */
export async function runOnDevice(options: DeviceRunOptions): Promise<DebugReport> {
  const { transport, target } = options;
  if (target.artifact === "native-qm") {
    if (!options.native) throw new Error(`The ${target.name} target runs a native artifact; none was compiled`);
    const report = await nativeDeviceReport(
      options.result,
      options.native.program,
      options.native.bytes,
      options.source,
      transport,
      target,
      createOrtExecutor,
      {
        samples: options.samples,
        warmup: options.warmup,
        runs: options.runs,
        timeoutMs: options.timeoutMs,
        deviceDir: options.deviceDir ?? defaultRemoteDir(transport.url),
        names: options.names,
      },
    );
    printLatency(report, options.quiet);
    return report;
  }
  const build = await target.runnerBuild();
  const runner = new DeviceOrtRunner(
    transport,
    build.files,
    options.deviceDir ?? defaultRemoteDir(transport.url),
    target.runArgv,
  );
  const report = await deviceDebugReport(options.result, options.source, runner, createOrtExecutor, {
    samples: options.samples,
    warmup: options.warmup,
    runs: options.runs,
    threads: options.threads,
    ...(options.pin ? { pin: options.pin } : {}),
    timeoutMs: options.timeoutMs,
    target: target.name,
    names: options.names,
  });
  printLatency(report, options.quiet);
  return report;
}

function printLatency(report: DebugReport, quiet: boolean): void {
  const d = report.device!;
  if (quiet) return;
  const what = [d.cpuModel, d.arch, d.cores !== null ? `${d.cores} cores` : null].filter((x) => x).join(", ");
  console.log(
    `\nDevice ${d.url} (${what}): median ${us(d.latencyUs.median)}, min ${us(d.latencyUs.min)}, ` +
      `p90 ${us(d.latencyUs.p90)} over ${d.runs} runs` +
      (d.cycles !== null ? `, ${d.cycles} cycles per run` : "") + ` (${d.runtime}, ${d.threads ?? 1} thread(s))`,
  );
}
