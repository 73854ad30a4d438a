/**
 * The debug report with int8 tensors computed by a device: the quantized
 * model runs on the device twice — once as is, timed (latency, end-to-end
 * outputs), once as a probe model returning every quantized activation's
 * integer tensor — and the host's float run of the same samples is the
 * reference. The result is the host debug report's schema with a `device`
 * section; the sensitivity views are computed on the host (they need many
 * model variants).
 *
 * @module
 */

import type { ExecutorFactory, HostTensor } from "../core/exec/executor.ts";
import { encodeModel } from "../core/onnx/model.ts";
import type { Model } from "../core/onnx/ir.ts";
import { type Batch, type BatchSource, exposeTensors } from "../core/quant/calibrate.ts";
import { analyzeQdqModel } from "../core/debug/qdq_graph.ts";
import { buildProbeModel, dequantizeProbes } from "../core/debug/probe.ts";
import { DebugSession, DEFAULT_DEBUG_OPTIONS } from "../core/debug/run.ts";
import { concat } from "../core/debug/sensitivity.ts";
import type { QuantizeResult } from "../core/pipeline.ts";
import type { DebugReport, DeviceSection } from "../core/report/schema.ts";
import type { DeviceInfo } from "../devices/transport.ts";
import { type DeviceOrtRunner, type DeviceRunResult, mergeDeviceInfo } from "./device_run.ts";

/** How to run the comparison. */
export interface DeviceReportOptions {
  /** Samples run on the device (the first ones of the data); the tensor metrics average over them. */
  samples: number;
  warmup: number;
  runs: number;
  threads: number;
  pin?: readonly number[];
  timeoutMs?: number;
  target: string;
  names: { model: string; quantized: string; source: string };
}

/** The first `count` samples of a source as one batch (inputs stacked on axis 0). */
export async function firstSamples(source: BatchSource, count: number): Promise<Batch> {
  const parts: Batch[] = [];
  let size = 0;
  for await (const batch of source()) {
    parts.push(batch);
    size += batch.size;
    if (size >= count) break;
  }
  if (size === 0) throw new Error("The data is empty: nothing to run on the device");
  const names = Object.keys(parts[0]!.feeds);
  const take = Math.min(size, count);
  const feeds: Record<string, HostTensor> = {};
  for (const name of names) {
    const all = concat(parts.map((p) => p.feeds[name]!));
    const per = all.data.length / size;
    feeds[name] = { data: all.data.slice(0, take * per), dims: [take, ...all.dims.slice(1)] };
  }
  const batch: Batch = { feeds, size: take };
  if (parts.every((p) => p.labels)) batch.labels = parts.flatMap((p) => p.labels!).slice(0, take);
  return batch;
}

/**
 * Runs a host model on a stacked batch, one sample at a time when its batch dimension is fixed.
 *
 * @example
 * ```ts ignore
 * const float = await hostRun(createOrtExecutor, encodeModel(model), batch, ["logits"], true, 1);
 * ```
 */
export async function hostRun(
  createExecutor: ExecutorFactory,
  modelBytes: Uint8Array,
  batch: Batch,
  names: readonly string[],
  perSample: boolean,
  threads: number,
): Promise<Map<string, HostTensor>> {
  const exec = await createExecutor(modelBytes, { threads });
  try {
    if (!perSample) return await exec.run(batch.feeds, names);
    const results: Map<string, HostTensor>[] = [];
    for (let i = 0; i < batch.size; i++) {
      const feeds = Object.fromEntries(
        Object.entries(batch.feeds).map(([n, t]) => {
          const per = t.data.length / batch.size;
          return [n, { data: t.data.slice(i * per, (i + 1) * per), dims: [1, ...t.dims.slice(1)] }];
        }),
      );
      results.push(await exec.run(feeds, names));
    }
    return new Map(names.map((n) => [n, concat(results.map((r) => r.get(n)!))]));
  } finally {
    await exec.release();
  }
}

/** The report's device section from a timed run. */
export function deviceSection(
  url: string,
  target: string,
  info: DeviceInfo,
  timed: DeviceRunResult,
): DeviceSection {
  const r = timed.report;
  return {
    url,
    target,
    ...mergeDeviceInfo(r.device, info),
    runtime: `onnxruntime ${r.ort} (${r.runner})`,
    threads: r.threads,
    warmup: r.warmup,
    runs: r.runs,
    latencyUs: r.latencyUs,
    cycles: null,
    transfer: {
      pushMs: timed.pushMs,
      runMs: timed.runMs,
      pullMs: timed.pullMs,
      bytesPushed: timed.bytesPushed,
      bytesPulled: timed.bytesPulled,
    },
  };
}

/**
 * Runs the quantized model on the device and builds the per-layer report from the device's tensors.
 *
 * @example
 * ```ts ignore
 * const report = await deviceDebugReport(result, source, runner, createOrtExecutor, {
 *   samples: 8, warmup: 3, runs: 20, threads: 1, target: "arm64",
 *   names: { model: "m.onnx", quantized: "m.int8.onnx", source: "calib/" },
 * });
 * report.device?.latencyUs.median;
 * ```
 */
export async function deviceDebugReport(
  result: QuantizeResult,
  source: BatchSource,
  runner: DeviceOrtRunner,
  createExecutor: ExecutorFactory,
  options: DeviceReportOptions,
): Promise<DebugReport> {
  const transport = runner.transport;
  const info = await transport.info();
  const batch = await firstSamples(source, options.samples);
  const analysis = analyzeQdqModel(result.quantized, { float: result.prepared });
  // The device provides the probed activations and the outputs; the host's float run, everything.
  const exposed = {
    float: floatTensorNames(result.prepared),
    quant: new Set([
      ...analysis.activations.map((a) => a.dequantized),
      ...result.quantized.graph.outputs.map((o) => o.name),
    ]),
  };
  const session = new DebugSession(
    {
      float: result.prepared,
      quantized: result.quantized,
      names: { ...options.names, runtime: `${options.target} device ${transport.url}` },
    },
    {
      ...DEFAULT_DEBUG_OPTIONS,
      tensorSamples: batch.size,
      threads: options.threads,
      paramsFor: (tensor) => result.params.get(tensor),
    },
    exposed,
  );
  const probe = buildProbeModel(result.quantized, analysis, session.quantNames);
  const common = {
    inputs: batch.feeds,
    threads: options.threads,
    ...(options.pin ? { pin: options.pin } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  };
  await runner.install();
  const timed = await runner.run({
    ...common,
    model: result.quantizedBytes,
    warmup: options.warmup,
    runs: options.runs,
  });
  const probed = await runner.run({ ...common, model: encodeModel(probe.model), warmup: 0, runs: 1 });
  const quant = dequantizeProbes(probe, probed.outputs);
  for (const o of session.outputs) {
    const t = timed.outputs.get(o);
    if (!t) throw new Error(`${transport.url}: the device run returned no output "${o}"`);
    quant.set(o, t);
  }
  const input = result.prepared.graph.realInputs()[0];
  const perSample = typeof input?.shape?.[0] === "number";
  const float = await hostRun(
    createExecutor,
    encodeModel(exposeTensors(result.prepared, session.floatNames)),
    batch,
    session.floatNames,
    perSample,
    options.threads,
  );
  session.observe(batch, float, quant);
  const report = await session.finish(createExecutor);
  report.notes.push(
    `int8 tensors were computed by the device (${transport.url}, target ${options.target}) on the first ` +
      `${batch.size} samples: the timed model for the outputs, a probe model returning every QuantizeLinear ` +
      `output for the layers; the float reference and the sensitivity views ran on the host.`,
  );
  report.device = deviceSection(transport.url, options.target, info, timed);
  return report;
}

/**
 * Every node output of a model: what a host run of the float model can expose.
 *
 * @example
 * ```ts ignore
 * floatTensorNames(result.prepared).has("logits"); // true
 * ```
 */
export function floatTensorNames(model: Model): Set<string> {
  const names = new Set<string>();
  for (const n of model.graph.nodes) for (const o of n.outputs) if (o) names.add(o);
  return names;
}
