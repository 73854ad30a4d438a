/**
 * `deno task bench --target T --device URL --model m.int8.onnx`: the latency of an int8 model on a
 * device, alone (no calibration, no report): installs the target's runner, runs warm-ups and timed
 * runs on zero-filled inputs of the model's shapes (dynamic dimensions as 1), prints one line and the
 * device facts. Never asserts a speed.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { decodeModel } from "../core/onnx/model.ts";
import { openTransport } from "../devices/mod.ts";
import { targetByName } from "../targets/mod.ts";
import { defaultRemoteDir, DeviceOrtRunner } from "../cli/device_run.ts";
import type { HostTensor } from "../core/exec/executor.ts";

const us = (x: number) => x >= 1000 ? `${(x / 1000).toFixed(3)} ms` : `${x.toFixed(1)} µs`;

/**
 * Runs the latency bench from command-line arguments; returns the exit code.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await deviceLatencyMain(["--target", "arm64", "--device", "ssh://pi@board", "--model", "m.int8.onnx"]));
 * ```
 */
export async function deviceLatencyMain(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      target: { type: "string" },
      device: { type: "string" },
      model: { type: "string" },
      warmup: { type: "string" },
      runs: { type: "string" },
      threads: { type: "string" },
      pin: { type: "string" },
      identity: { type: "string" },
      "known-hosts": { type: "string" },
      "trust-host-key": { type: "boolean" },
      "device-dir": { type: "string" },
    },
    strict: false,
  });
  const str = (k: string) => typeof values[k] === "string" ? values[k] as string : undefined;
  const [targetName, url, modelPath] = [str("target"), str("device"), str("model")];
  if (!targetName || !url || !modelPath) {
    console.error("error: the device bench needs --target T --device URL --model M.int8.onnx");
    return 2;
  }
  const target = targetByName(targetName);
  if (target.artifact !== "qdq-onnx") {
    console.error(`error: the device latency bench runs ONNX targets (host, arm64); ${target.name} runs a .qm`);
    return 2;
  }
  const model = await Deno.readFile(modelPath);
  const graph = decodeModel(model, modelPath).graph;
  const inputs: Record<string, HostTensor> = {};
  for (const v of graph.realInputs()) {
    const dims = (v.shape ?? [1]).map((d) => typeof d === "number" && d > 0 ? d : 1);
    inputs[v.name] = { data: new Float32Array(dims.reduce((a, b) => a * b, 1)), dims };
  }
  const transport = openTransport(url, {
    ...(str("identity") ? { identity: str("identity")! } : {}),
    ...(str("known-hosts") ? { knownHosts: str("known-hosts")! } : {}),
    trustHostKey: values["trust-host-key"] === true,
  });
  await transport.connect();
  try {
    const build = await target.runnerBuild();
    const runner = new DeviceOrtRunner(
      transport,
      build.files,
      str("device-dir") ?? defaultRemoteDir(transport.url),
      target.runArgv,
    );
    await runner.install();
    const pin = str("pin")?.split(",").map(Number);
    const r = await runner.run({
      model,
      inputs,
      warmup: Number(str("warmup") ?? 10),
      runs: Number(str("runs") ?? 100),
      threads: Number(str("threads") ?? 1),
      ...(pin ? { pin } : {}),
    });
    const l = r.report.latencyUs;
    const d = r.report.device;
    console.log(
      `${modelPath} on ${transport.url} (${target.name}; ${
        [d.cpuModel, d.arch, d.cores && `${d.cores} cores`, d.os]
          .filter((x) => x).join(", ")
      })`,
    );
    console.log(
      `  latency  min ${us(l.min)}  median ${us(l.median)}  p90 ${us(l.p90)}  max ${us(l.max)}  mean ${us(l.mean)}` +
        `  (${r.report.runs} runs after ${r.report.warmup} warm-ups, ${r.report.threads} thread(s), ` +
        `onnxruntime ${r.report.ort})`,
    );
    console.log(
      `  transfer push ${r.pushMs.toFixed(0)} ms (${r.bytesPushed} B), run ${r.runMs.toFixed(0)} ms, ` +
        `pull ${r.pullMs.toFixed(0)} ms`,
    );
    return 0;
  } finally {
    await transport.close();
  }
}

/**
 * The transport lines of the full bench: SSH push + run + pull of a 5 MB model on the loopback arm64
 * board (what the transport adds beyond the run), and serial uploads against the paced pty board at
 * 115200 and 921600 baud (share of the line rate).
 *
 * @example
 * ```ts ignore
 * console.log(await transportBench());
 * ```
 */
export async function transportBench(): Promise<string> {
  const { formatSshBench, sshBench } = await import("./ssh_bench.ts");
  const { formatSerialBench, serialBench } = await import("./serial_bench.ts");
  const lines = ["Transports (loopback rigs; the run itself is excluded from the overhead):"];
  lines.push(formatSshBench(await sshBench()));
  lines.push(formatSerialBench(await serialBench()));
  return lines.join("\n");
}
