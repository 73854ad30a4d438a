/**
 * The per-layer debug run: compares every quantized tensor of a QDQ model
 * with the float model over the debug data, computes both sensitivity views
 * per tensor, and assembles the report (core/report/schema.ts).
 *
 * @module
 */

import type { Executor, ExecutorFactory, HostTensor } from "../exec/executor.ts";
import { OutputMetricsAccumulator } from "../metrics/accumulate.ts";
import { cosineSimilarity } from "../metrics/similarity.ts";
import { type SummaryOptions, TensorDebugAccumulator } from "../metrics/tensor_debug.ts";
import type { Model } from "../onnx/ir.ts";
import { encodeModel } from "../onnx/model.ts";
import { type Batch, type BatchSource, exposeTensors } from "../quant/calibrate.ts";
import { adviseTensor, rankTensors } from "../report/advice.ts";
import {
  DEBUG_REPORT_SCHEMA,
  type DebugReport,
  type OutputEntry,
  type SensitivitySummary,
  type TensorEntry,
} from "../report/schema.ts";
import { type AnalyzeOptions, analyzeQdqModel, type QdqActivation, type QdqAnalysis } from "./qdq_graph.ts";
import { concat, planSegments, runSensitivity, type SampleCache, type SegmentPlan } from "./sensitivity.ts";
import { buildSwitchableModel, type SwitchableModel } from "./switchable.ts";

/** Settings of a debug run. */
export interface DebugOptions {
  /** Samples the per-tensor metrics are averaged over (the first ones of the data). */
  tensorSamples: number;
  /**
   * Samples every sensitivity variant runs on: those among the metric samples where the int8
   * output departs most from the float one. 0 leaves the sensitivity views out. Default:
   * {@link SENSITIVITY_BUDGET} variant-samples per view shared by the tensors, 2 to `tensorSamples`.
   */
  sensitivitySamples?: number;
  /** Samples for the end-to-end output comparison (default: all). */
  outputSamples?: number;
  /** Segments the sensitivity variants are cut into (default: one per 12 quantized tensors, 1..16). */
  segments?: number;
  /** ONNX Runtime intra-op threads (default 1, as calibration). */
  threads?: number;
  /** Histogram bins and scatter points per tensor. */
  summary?: Partial<SummaryOptions>;
  /** Exact parameters by float tensor name (known when the run that quantized is at hand). */
  paramsFor?: AnalyzeOptions["paramsFor"];
  /** Integer range ±clamp of symmetric int8 tensors (ours: 127, MNN); default: the type's range. */
  symmetricClamp?: number;
}

/**
 * Defaults: metrics over 8 samples, sensitivity on the ones among them where int8 strays most (see
 * {@link SENSITIVITY_BUDGET}); chosen so the report for the PaddleOCR classifier costs less than its
 * calibration (bench/report_bench.ts).
 */
export const DEFAULT_DEBUG_OPTIONS: DebugOptions = { tensorSamples: 8 };

/**
 * Variant-samples per sensitivity view when `sensitivitySamples` is not given: every variant costs about
 * one run of the model downstream of its tensor, so the samples shrink as the tensors grow in number
 * (150-tensor PaddleOCR classifier: 2 samples; a 20-tensor net: all 8 metric samples).
 */
export const SENSITIVITY_BUDGET = 320;

/** The models compared and how to name them in the report. */
export interface DebugSubject {
  /** The float reference, prepared as the quantizer prepares it (BN folded: the names the QDQ model keeps). */
  float: Model;
  /** The QDQ model. */
  quantized: Model;
  names: { model: string; quantized: string; source: string; runtime: string };
}

const round = (x: number) => Number.isFinite(x) ? Number(x.toPrecision(6)) : 0;

/** The batches of `source` regrouped into batches of `size` samples (the last may be smaller). */
async function* rebatch(source: BatchSource, size: number): AsyncGenerator<Batch> {
  let pending: Batch[] = [], count = 0;
  const flush = (): Batch => {
    const names = Object.keys(pending[0]!.feeds);
    const batch: Batch = {
      feeds: Object.fromEntries(names.map((n) => [n, concat(pending.map((b) => b.feeds[n]!))])),
      size: count,
    };
    if (pending.every((b) => b.labels)) batch.labels = pending.flatMap((b) => b.labels!);
    pending = [];
    count = 0;
    return batch;
  };
  for await (const batch of source()) {
    pending.push(batch);
    count += batch.size;
    if (count >= size) yield flush();
  }
  if (count > 0) yield flush();
}

/** Sample `i` of a batch-first tensor holding `batch` samples, as a batch of one. */
function sampleOf(t: HostTensor, batch: number, i: number): HostTensor {
  const per = t.data.length / batch;
  return { data: t.data.slice(i * per, (i + 1) * per), dims: [1, ...t.dims.slice(1)] };
}

function thresholdRatio(clipMin: number, clipMax: number, min: number, max: number): number | null {
  const up = max > 0 ? clipMax / max : 0, down = min < 0 ? clipMin / min : 0;
  if (max <= 0 && min >= 0) return null;
  return Math.abs(max) >= Math.abs(min) ? up : down;
}

type Unit = { k: number; a: QdqActivation & { floatName: string } };

interface Candidate {
  index: number;
  cosine: number;
  label: number | undefined;
  float: Map<string, HostTensor>;
  quant: Map<string, HostTensor>;
}

/**
 * A debug run fed batch by batch: it says which tensors it wants from the
 * float and QDQ runs ({@link DebugSession.floatNames}, {@link DebugSession.quantNames}),
 * takes each batch's results in {@link DebugSession.observe}, and computes the
 * sensitivity views and the report in {@link DebugSession.finish}. {@link runDebug}
 * drives it with its own runs; `deno task quant --report` feeds it from the
 * runs its evaluation makes anyway.
 *
 * @example
 * ```ts ignore
 * const session = new DebugSession(subject, DEFAULT_DEBUG_OPTIONS);
 * for await (const batch of source()) {
 *   session.observe(batch, await floatExec.run(batch.feeds, session.floatNames),
 *     await quantExec.run(batch.feeds, session.quantNames));
 * }
 * const report = await session.finish(createExecutor);
 * ```
 */
export class DebugSession {
  /** Float-model tensors each batch should report (compared tensors, cut tensors, outputs). */
  readonly floatNames: string[];
  /** QDQ-model tensors each batch should report. */
  readonly quantNames: string[];
  /** The graph outputs, by name. */
  readonly outputs: string[];
  private readonly t0 = performance.now();
  private readonly units: Unit[] = [];
  private readonly unmatched: { tensor: string; reason: string }[] = [];
  private readonly analysis: QdqAnalysis;
  private readonly switchable: SwitchableModel;
  private readonly alias = new Map<string, string>();
  private readonly plan: SegmentPlan | undefined;
  private readonly cutNames: string[];
  private readonly floatCut: string[];
  private readonly inputNames: Set<string>;
  private readonly accumulators: TensorDebugAccumulator[];
  private readonly perOutput: OutputMetricsAccumulator[];
  private readonly sensitivitySamples: number;
  private chosen: Candidate[] = [];
  private seen = 0;
  private metricSamples = 0;
  private candidates = 0;
  private labelled = true;

  /**
   * Reads the QDQ model and plans the sensitivity runs. `exposed` limits the tensors the batches
   * will hold (when the runs are someone else's): the models are only cut where those suffice.
   */
  constructor(
    readonly subject: DebugSubject,
    readonly options: DebugOptions,
    exposed?: { float: ReadonlySet<string>; quant: ReadonlySet<string> },
  ) {
    const { float, quantized } = subject;
    this.analysis = analyzeQdqModel(quantized, {
      float,
      ...(options.paramsFor ? { paramsFor: options.paramsFor } : {}),
      ...(options.symmetricClamp !== undefined ? { symmetricClamp: options.symmetricClamp } : {}),
    });
    const seenFloat = new Set<string>();
    this.analysis.activations.forEach((a, k) => {
      if (a.floatName === undefined) {
        this.unmatched.push({
          tensor: a.dequantized,
          reason: "no tensor of that name (or of its QuantizeLinear input) in the float model",
        });
      } else if (seenFloat.has(a.floatName)) {
        this.unmatched.push({ tensor: a.dequantized, reason: `a second quantization of "${a.floatName}"` });
      } else {
        seenFloat.add(a.floatName);
        this.units.push({ k, a: a as QdqActivation & { floatName: string } });
      }
    });
    for (const u of this.analysis.unreadable) this.unmatched.push({ tensor: u.node, reason: u.reason });

    this.switchable = buildSwitchableModel(quantized, this.analysis, float.graph.initializers);
    for (const n of float.graph.nodes) for (const o of n.outputs) if (o) this.alias.set(o, o);
    for (const v of float.graph.realInputs()) this.alias.set(v.name, v.name);
    for (const a of this.analysis.activations) {
      if (a.floatName !== undefined) this.alias.set(a.dequantized, a.floatName);
    }
    this.inputNames = new Set(float.graph.realInputs().map((v) => v.name));
    this.outputs = float.graph.outputs.map((o) => o.name);
    this.sensitivitySamples = Math.max(
      0,
      options.sensitivitySamples ?? Math.max(2, Math.floor(SENSITIVITY_BUDGET / Math.max(1, this.units.length))),
    );
    const segmentCount = options.segments ?? Math.min(16, Math.max(1, Math.round(this.units.length / 12)));
    const available = exposed
      ? (t: string) =>
        this.inputNames.has(t) || this.outputs.includes(t) ||
        (exposed.quant.has(t) && exposed.float.has(this.alias.get(t) ?? ""))
      : () => true;
    this.plan = this.sensitivitySamples > 0 && this.units.length > 0
      ? planSegments(
        this.switchable,
        quantized,
        float,
        new Map([...this.alias].filter(([t]) => available(t))),
        new Set(this.analysis.activations.map((a) => a.dequantized)),
        segmentCount,
      )
      : undefined;
    const notInput = (t: string) => !this.inputNames.has(t);
    this.cutNames = this.plan ? [...new Set(this.plan.cuts.slice(1, -1).flatMap((c) => c.live))].filter(notInput) : [];
    this.floatCut = [...new Set(this.cutNames.map((t) => this.alias.get(t)!))];
    this.floatNames = [...new Set([...this.units.map((u) => u.a.floatName), ...this.floatCut, ...this.outputs])]
      .filter(notInput);
    this.quantNames = [...new Set([...this.units.map((u) => u.a.dequantized), ...this.cutNames, ...this.outputs])]
      .filter(notInput);
    this.accumulators = this.units.map((u) => new TensorDebugAccumulator(u.a.params, options.summary ?? {}));
    this.perOutput = this.outputs.map((o) => new OutputMetricsAccumulator(o));
  }

  /** Whether the next batch should carry tensors (false: its outputs are enough). */
  get wantsTensors(): boolean {
    return this.metricSamples < this.options.tensorSamples;
  }

  /**
   * Takes one batch's results: `float` by float-model name, `quant` by QDQ-model name, each
   * holding {@link floatNames} / {@link quantNames} while {@link wantsTensors}, else at least
   * the outputs.
   */
  observe(batch: Batch, float: ReadonlyMap<string, HostTensor>, quant: ReadonlyMap<string, HostTensor>): void {
    const f = new Map(float), q = new Map(quant);
    for (const [name, t] of Object.entries(batch.feeds)) {
      f.set(name, t);
      q.set(name, t);
    }
    const first = this.seen;
    this.seen += batch.size;
    if (!batch.labels) this.labelled = false;
    this.outputs.forEach((o, i) => this.perOutput[i]!.add(f.get(o)!, q.get(o)!, batch.size, batch.labels));
    const hasTensors = this.units.every((u) => f.has(u.a.floatName) && q.has(u.a.dequantized));
    if (!hasTensors) return;
    if (this.wantsTensors) {
      this.metricSamples += batch.size;
      this.units.forEach((u, i) =>
        this.accumulators[i]!.add(f.get(u.a.floatName)!, q.get(u.a.dequantized)!, batch.size)
      );
    }
    if (!this.plan || this.sensitivitySamples === 0) return;
    // Keep the activations at every cut for the samples where int8 strays most from float so far.
    const fo = f.get(this.outputs[0]!)!, qo = q.get(this.outputs[0]!)!, per = fo.data.length / batch.size;
    for (let i = 0; i < batch.size; i++) {
      this.candidates++;
      const cosine = cosineSimilarity(fo.data, qo.data, i * per, (i + 1) * per);
      const worst = this.chosen.length < this.sensitivitySamples
        ? undefined
        : this.chosen.reduce((a, b) => a.cosine > b.cosine ? a : b);
      if (worst && worst.cosine <= cosine) continue;
      const pick = (from: Map<string, HostTensor>, names: Iterable<string>) =>
        new Map([...names].map((name) => [name, sampleOf(from.get(name)!, batch.size, i)]));
      const candidate: Candidate = {
        index: first + i,
        cosine,
        label: batch.labels?.[i],
        float: pick(f, new Set([...this.floatCut, ...this.inputNames, ...this.outputs])),
        quant: pick(q, new Set([...this.cutNames, ...this.inputNames, ...this.outputs])),
      };
      this.chosen = [...this.chosen.filter((c) => c !== worst), candidate];
    }
  }

  /**
   * Runs the sensitivity views and assembles the report. `outputs`: end-to-end metrics measured
   * elsewhere over more data (e.g. the quant command's evaluation), reported instead of this run's.
   */
  async finish(createExecutor: ExecutorFactory, outputs?: OutputEntry[]): Promise<DebugReport> {
    if (this.seen === 0) throw new Error("The debug data is empty");
    const { float } = this.subject;
    const options = this.options;
    const statsMs = performance.now() - this.t0;
    const chosen = [...this.chosen].sort((a, b) => a.index - b.index);
    const floatCache: SampleCache = new Map(), quantCache: SampleCache = new Map();
    for (const c of chosen) {
      for (const [name, t] of c.float) floatCache.set(name, [...(floatCache.get(name) ?? []), t]);
      for (const [name, t] of c.quant) quantCache.set(name, [...(quantCache.get(name) ?? []), t]);
    }

    const t1 = performance.now();
    let sensitivity: SensitivitySummary | null = null;
    let perUnit: Awaited<ReturnType<typeof runSensitivity>>["perUnit"] | undefined;
    const notes: string[] = [];
    if (this.plan && chosen.length > 0) {
      const labels = chosen.every((c) => c.label !== undefined) ? chosen.map((c) => c.label) : undefined;
      const input = float.graph.realInputs()[0];
      const batchable = input?.shape?.[0] === undefined || typeof input.shape[0] !== "number";
      const run = (rows: boolean) =>
        runSensitivity(
          this.plan!,
          this.switchable,
          createExecutor,
          { float: floatCache, quantized: quantCache, samples: chosen.length, labels },
          this.units.map((u) => u.k),
          { output: this.outputs[0]!, batchable: rows, threads: options.threads ?? 1 },
        );
      // Many variants per run need batch-first activations; a model without them runs one at a time.
      const result = await run(batchable).catch((e) => batchable ? run(false) : Promise.reject(e));
      perUnit = result.perUnit;
      sensitivity = {
        output: this.outputs[0]!,
        samples: chosen.length,
        float: result.float,
        allQuantized: result.allQuantized,
        segments: this.plan.segments.length,
        runs: result.runs,
      };
      notes.push(
        `Sensitivity views ran on ${chosen.length} samples only — those among the first ${this.candidates} where ` +
          `the int8 output departs most from the float one (samples ${chosen.map((c) => c.index).join(", ")}) — ` +
          `through ${this.plan.segments.length} model segments (${result.runs} runtime calls): compare layers ` +
          `with each other rather than reading the numbers as accuracy.`,
      );
    }
    const sensitivityMs = performance.now() - t1;

    const producers = float.graph.producers();
    const ownedWeights = new Map<number, boolean[]>();
    for (const w of this.analysis.weights) {
      if (w.owner === undefined || w.perChannel === undefined) continue;
      ownedWeights.set(w.owner, [...(ownedWeights.get(w.owner) ?? []), w.perChannel]);
    }
    // The weighted node whose weights a tensor owns (a Conv before a fused ReLU) is skipped with it.
    const weightedNode = new Map<number, string>();
    const qdqConsumers = this.subject.quantized.graph.consumers();
    for (const w of this.analysis.weights) {
      const user = qdqConsumers.get(w.dequantized)?.[0];
      if (w.owner !== undefined && user) weightedNode.set(w.owner, user.name);
    }
    const context = { allQuantized: sensitivity?.allQuantized ?? null };
    const tensors: TensorEntry[] = this.units.map((u, index) => {
      const acc = this.accumulators[index]!;
      const m = acc.metrics();
      const p = u.a.params;
      const clipMin = (p.qmin - p.zeroPoint) * p.scale, clipMax = (p.qmax - p.zeroPoint) * p.scale;
      const producer = producers.get(u.a.floatName);
      const weights = ownedWeights.get(u.k);
      const hist = acc.histogramSummary();
      const scatter = acc.scatter();
      const entry: TensorEntry = {
        index,
        tensor: u.a.floatName,
        quantizedName: u.a.dequantized,
        op: producer?.opType ?? "input",
        node: producer?.name || u.a.floatName,
        skip: [...new Set([weightedNode.get(u.k), producer?.name].filter((n): n is string => !!n))],
        scale: p.scale,
        zeroPoint: p.zeroPoint,
        qmin: p.qmin,
        qmax: p.qmax,
        clipMin,
        clipMax,
        observedMin: round(m.observedMin),
        observedMax: round(m.observedMax),
        thresholdRatio: thresholdRatio(clipMin, clipMax, m.observedMin, m.observedMax),
        cosine: m.cosine,
        minCosine: m.minCosine,
        overflowRate: m.overflowRate,
        euclidean: m.euclidean,
        sqnrDb: m.sqnrDb,
        saturationLow: m.saturationLow,
        saturationHigh: m.saturationHigh,
        roundedToZero: m.roundedToZero,
        samples: m.samples,
        weightsPerChannel: weights ? weights.every((x) => x) : null,
        sensitivity: perUnit?.get(u.k) ?? null,
        advice: [],
        histogram: { min: round(hist.min), max: round(hist.max), counts: hist.counts },
        scatter: { float: scatter.float.map(round), quantized: scatter.quantized.map(round) },
      };
      entry.advice = adviseTensor(entry, context);
      return entry;
    });

    const outputSamples = outputs ? Math.max(0, ...outputs.map((o) => o.samples)) : this.seen;
    notes.unshift(
      `Per-tensor metrics are averaged over the first ${this.metricSamples} samples; outputs over ${outputSamples}.`,
    );
    if (this.switchable.fixedWeights.length > 0) {
      notes.push(
        `${this.switchable.fixedWeights.length} weight tensors stay int8 in every sensitivity variant (no float ` +
          `original found, or read by an op that is not linear in them).`,
      );
    }
    const outputEntries: OutputEntry[] = outputs ?? this.perOutput.map((a) => {
      const r = a.result();
      return {
        output: r.output,
        cosine: r.cosine,
        top1Agreement: r.top1Agreement ?? null,
        floatAccuracy: r.floatAccuracy ?? null,
        int8Accuracy: r.int8Accuracy ?? null,
        samples: r.samples,
      };
    });
    return {
      schema: DEBUG_REPORT_SCHEMA,
      model: this.subject.names.model,
      quantized: this.subject.names.quantized,
      runtime: this.subject.names.runtime,
      data: { source: this.subject.names.source, samples: this.metricSamples, labelled: this.labelled },
      outputs: outputEntries,
      tensors,
      ranking: rankTensors(tensors),
      sensitivity,
      unmatched: this.unmatched,
      notes,
      timings: { statsMs, sensitivityMs, totalMs: performance.now() - this.t0 },
    };
  }
}

/**
 * Runs the debug comparison with its own float and QDQ runs over `source` and returns the report.
 *
 * @example
 * ```ts ignore
 * // createExecutor: e.g. targets/ort.ts's createOrtExecutor (the host runtime)
 * const report = await runDebug({ float, quantized, names }, source, createExecutor, DEFAULT_DEBUG_OPTIONS);
 * report.tensors[report.ranking.order[0]!]?.tensor; // the worst layer
 * ```
 */
export async function runDebug(
  subject: DebugSubject,
  source: BatchSource,
  createExecutor: ExecutorFactory,
  options: DebugOptions = DEFAULT_DEBUG_OPTIONS,
): Promise<DebugReport> {
  const session = new DebugSession(subject, options);
  const threads = { threads: options.threads ?? 1 };
  const floatExec = await createExecutor(encodeModel(exposeTensors(subject.float, session.floatNames)), threads);
  let quantExec: Executor | undefined;
  try {
    quantExec = await createExecutor(encodeModel(exposeTensors(subject.quantized, session.quantNames)), threads);
    const input = subject.float.graph.realInputs()[0];
    const batchable = input?.shape?.[0] === undefined || typeof input.shape[0] !== "number";
    let seen = 0;
    // Samples go through the runtime in batches of 8 when the model allows.
    for await (const batch of batchable ? rebatch(source, 8) : source()) {
      if (options.outputSamples !== undefined && seen >= options.outputSamples) break;
      seen += batch.size;
      const tensors = session.wantsTensors;
      const f = await floatExec.run(batch.feeds, tensors ? session.floatNames : session.outputs);
      const q = await quantExec.run(batch.feeds, tensors ? session.quantNames : session.outputs);
      session.observe(batch, f, q);
    }
  } finally {
    await floatExec.release();
    await quantExec?.release();
  }
  return await session.finish(createExecutor);
}
