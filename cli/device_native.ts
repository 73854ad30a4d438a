/**
 * Device runs of the native `.qm` artifact: the Cortex-M firmware over
 * `serial://` (its `run` command on RAM files) or `qm_run` on a Linux board
 * (armv7). Inputs are quantized on the host exactly as the integer
 * interpreter does; every op's output comes back as the per-op dump, which
 * names the QDQ tensor it computes, so the same DebugSession as the host
 * report compares the device's int8 tensors with the float model.
 *
 * @module
 */

import type { ExecutorFactory, HostTensor } from "../core/exec/executor.ts";
import { encodeModel } from "../core/onnx/model.ts";
import { type BatchSource, exposeTensors } from "../core/quant/calibrate.ts";
import { DebugSession, DEFAULT_DEBUG_OPTIONS } from "../core/debug/run.ts";
import { analyzeQdqModel } from "../core/debug/qdq_graph.ts";
import type { QuantizeResult } from "../core/pipeline.ts";
import type { DebugReport, DeviceSection, LatencyStats } from "../core/report/schema.ts";
import { dequantizeOutput, quantizeInput } from "../core/sim/io.ts";
import { DTYPES, type Program, tensorArrayFromBytes, tensorBytes } from "../core/sim/program.ts";
import { DeviceError, type Transport } from "../devices/transport.ts";
import type { RunnerFile, Target } from "../targets/target.ts";
import { firstSamples, floatTensorNames, hostRun } from "./device_report.ts";
import { installFiles } from "./device_run.ts";

/** How to run the comparison. */
export interface NativeDeviceOptions {
  samples: number;
  warmup: number;
  runs: number;
  timeoutMs: number;
  /** Device directory for qm_run and its files (Linux boards); the firmware has flat RAM file names. */
  deviceDir: string;
  names: { model: string; quantized: string; source: string };
}

/** Per-run latency statistics from single-run samples. */
export function latencyStats(samplesUs: readonly number[]): LatencyStats {
  const s = [...samplesUs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return {
    min: s[0]!,
    median: s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2,
    p90: at(0.9),
    max: s[s.length - 1]!,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/** The files and commands of one native runner kind. */
interface NativeRunner {
  install(): Promise<number>;
  file(name: string): string;
  run(model: string, input: string, output: string, dump: string | undefined): string[];
  /** One timed single run: its microseconds and (MCU) cycles. */
  timeOnce(model: string, input: string): Promise<{ us: number; cycles: number | null }>;
  runtime: string;
}

function firmwareRunner(t: Transport, clockHz: number, runtime: string): NativeRunner {
  return {
    install: () => Promise.resolve(0),
    file: (name) => name,
    run: (model, input, output, dump) => ["run", model, input, output, ...(dump ? ["--dump", dump] : [])],
    async timeOnce(model, input) {
      const r = await t.exec(["run", model, input, "time.out", "--runs", "1"]);
      const cycles = Number(new TextDecoder().decode(r.stdout).match(/cycles=(\d+)/)?.[1]);
      if (!Number.isFinite(cycles)) throw new DeviceError("protocol", `${t.url}: the board printed no cycle count`);
      return { us: (cycles / clockHz) * 1e6, cycles };
    },
    runtime,
  };
}

function qmRunRunner(t: Transport, files: readonly RunnerFile[], dir: string, timeoutMs: number): NativeRunner {
  const qmRun = `${dir}/qm_run`;
  return {
    install: () => installFiles(t, files, dir),
    file: (name) => `${dir}/${name}`,
    run: (model, input, output, dump) => [qmRun, model, input, output, ...(dump ? ["--dump", dump] : [])],
    async timeOnce(model) {
      const r = await t.exec([qmRun, model, "--time", "1"], { timeoutMs });
      const us = Number(new TextDecoder().decode(r.stdout).trim());
      if (!Number.isFinite(us)) throw new DeviceError("protocol", `${t.url}: qm_run --time printed no number`);
      return { us, cycles: null };
    },
    runtime: "int8-toolchain native runtime (qm_run)",
  };
}

/**
 * Runs the native artifact on the device and builds the per-layer report from its per-op dumps.
 *
 * @example
 * ```ts ignore
 * const report = await nativeDeviceReport(result, program, artifact, source, transport, CORTEX_M,
 *   createOrtExecutor, { samples: 2, warmup: 1, runs: 10, timeoutMs: 600_000, deviceDir: "", names });
 * report.device?.cycles;
 * ```
 */
export async function nativeDeviceReport(
  result: QuantizeResult,
  program: Program,
  artifact: Uint8Array,
  source: BatchSource,
  transport: Transport,
  target: Target,
  createExecutor: ExecutorFactory,
  options: NativeDeviceOptions,
): Promise<DebugReport> {
  const info = await transport.info();
  const build = await target.runnerBuild();
  let runner: NativeRunner;
  if (target.runner === "serial-firmware") {
    const clock = Number(info.cpuModel?.match(/at ([\d.]+) MHz/)?.[1] ?? NaN) * 1e6;
    if (!Number.isFinite(clock)) throw new DeviceError("protocol", `${transport.url}: the board did not say its clock`);
    runner = firmwareRunner(transport, clock, `int8-toolchain native runtime (${info.os ?? "firmware"})`);
  } else if (target.runner === "qm_run") {
    runner = qmRunRunner(transport, build.files, options.deviceDir, options.timeoutMs);
  } else {
    throw new Error(`The ${target.name} target's runner (${target.runner}) does not run .qm artifacts`);
  }

  const batch = await firstSamples(source, options.samples);
  const inputs = program.inputs.map((i) => program.tensors[i]!);
  const perSampleIn = inputs.map((t) => tensorBytes(t));
  const inputBytes = new Uint8Array(batch.size * perSampleIn.reduce((a, b) => a + b, 0));
  const quantizedInputs = new Map<string, Float32Array>();
  let at = 0;
  for (let s = 0; s < batch.size; s++) {
    inputs.forEach((t, k) => {
      const feed = batch.feeds[t.name] ?? Object.values(batch.feeds)[k];
      if (!feed) throw new Error(`No data for the artifact's input "${t.name}"`);
      const per = feed.data.length / batch.size;
      const q = quantizeInput(feed.data.subarray(s * per, (s + 1) * per), t);
      inputBytes.set(new Uint8Array(q.buffer, q.byteOffset, q.byteLength), at);
      at += q.byteLength;
      const deq = dequantizeOutput(q, t);
      const all = quantizedInputs.get(t.name) ?? new Float32Array(per * batch.size);
      all.set(deq, s * per);
      quantizedInputs.set(t.name, all);
    });
  }
  const firstInput = inputBytes.subarray(0, perSampleIn.reduce((a, b) => a + b, 0));

  const t0 = performance.now();
  let bytesPushed = await runner.install();
  const model = runner.file("model.qm"), input = runner.file("input.bin"), input0 = runner.file("input0.bin");
  const output = runner.file("output.bin"), dump = runner.file("dump.bin");
  for (const [file, data] of [[model, artifact], [input, inputBytes], [input0, firstInput]] as const) {
    await transport.push(data, file);
    bytesPushed += data.length;
  }
  const t1 = performance.now();
  for (let i = 0; i < options.warmup; i++) await runner.timeOnce(model, input0);
  const timed: { us: number; cycles: number | null }[] = [];
  for (let i = 0; i < options.runs; i++) timed.push(await runner.timeOnce(model, input0));
  await transport.exec(runner.run(model, input, output, dump), { timeoutMs: options.timeoutMs });
  const t2 = performance.now();
  const outBytes = await transport.pull(output);
  const dumpBytes = await transport.pull(dump);
  const t3 = performance.now();

  // Per sample, every op's first output in op order (qm_run and the firmware write the same layout).
  const opTensors = program.ops.map((op) => program.tensors[op.outputs[0]!]!);
  const perSampleDump = opTensors.reduce((n, t) => n + tensorBytes(t), 0);
  if (dumpBytes.length !== perSampleDump * batch.size) {
    throw new DeviceError(
      "protocol",
      `${transport.url}: the per-op dump has ${dumpBytes.length} bytes, expected ${perSampleDump * batch.size}`,
    );
  }
  const quant = new Map<string, HostTensor>();
  let offset = 0;
  const gathered = opTensors.map((t) => ({
    t,
    data: new Float32Array(batch.size * (tensorBytes(t) / DTYPES[t.dtype].bytes)),
  }));
  for (let s = 0; s < batch.size; s++) {
    for (const g of gathered) {
      const n = tensorBytes(g.t), count = n / DTYPES[g.t.dtype].bytes;
      const values = tensorArrayFromBytes(g.t.dtype, dumpBytes.subarray(offset, offset + n), count);
      g.data.set(dequantizeOutput(values, g.t), s * count);
      offset += n;
    }
  }
  for (const g of gathered) quant.set(g.t.name, { data: g.data, dims: [batch.size, ...g.t.shape.slice(1)] });
  // The graph outputs as the device wrote them.
  const outputs = program.outputs.map((i) => program.tensors[i]!);
  const perSampleOut = outputs.reduce((n, t) => n + tensorBytes(t), 0);
  if (outBytes.length !== perSampleOut * batch.size) {
    throw new DeviceError(
      "protocol",
      `${transport.url}: the output has ${outBytes.length} bytes, expected ${perSampleOut * batch.size}`,
    );
  }

  const analysis = analyzeQdqModel(result.quantized, { float: result.prepared });
  for (const a of analysis.activations) {
    const q = quantizedInputs.get(a.input);
    if (q && !quant.has(a.dequantized)) {
      const t = inputs.find((x) => x.name === a.input)!;
      quant.set(a.dequantized, { data: q, dims: [batch.size, ...t.shape.slice(1)] });
    }
  }
  const session = new DebugSession(
    {
      float: result.prepared,
      quantized: result.quantized,
      names: { ...options.names, runtime: `${target.name} device ${transport.url}` },
    },
    { ...DEFAULT_DEBUG_OPTIONS, tensorSamples: batch.size, threads: 1, paramsFor: (t) => result.params.get(t) },
    { float: floatTensorNames(result.prepared), quant: new Set(quant.keys()) },
  );
  // Tensors the artifact computes inside a fused op (no op output of their own) come from the host's
  // QDQ simulation; the report says which.
  const missing = session.quantNames.filter((n) => !quant.has(n));
  if (missing.length > 0) {
    const sim = await hostRun(
      createExecutor,
      encodeModel(exposeTensors(result.quantized, missing)),
      batch,
      missing,
      typeof result.prepared.graph.realInputs()[0]?.shape?.[0] === "number",
      1,
    );
    for (const [n, t] of sim) quant.set(n, t);
  }
  const float = await hostRun(
    createExecutor,
    encodeModel(exposeTensors(result.prepared, session.floatNames)),
    batch,
    session.floatNames,
    typeof result.prepared.graph.realInputs()[0]?.shape?.[0] === "number",
    1,
  );
  session.observe(batch, float, quant);
  const report = await session.finish(createExecutor);
  report.notes.push(
    `int8 tensors were computed by the device (${transport.url}, target ${target.name}, ${runner.runtime}) on the ` +
      `first ${batch.size} samples: each op's output from the runtime's per-op dump; the float reference and the ` +
      `sensitivity views ran on the host.`,
  );
  if (missing.length > 0) {
    report.notes.push(
      `${missing.length} tensors have no op of their own in the artifact (fused): their values come from the ` +
        `host's QDQ simulation: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""}.`,
    );
  }
  const cycles = timed.map((x) => x.cycles).filter((c): c is number => c !== null);
  const device: DeviceSection = {
    url: transport.url,
    target: target.name,
    ...info,
    runtime: runner.runtime,
    threads: 1,
    warmup: options.warmup,
    runs: options.runs,
    latencyUs: latencyStats(timed.map((x) => x.us)),
    cycles: cycles.length > 0 ? latencyStats(cycles).median : null,
    transfer: {
      pushMs: t1 - t0,
      runMs: t2 - t1,
      pullMs: t3 - t2,
      bytesPushed,
      bytesPulled: outBytes.length + dumpBytes.length,
    },
  };
  report.device = device;
  return report;
}
