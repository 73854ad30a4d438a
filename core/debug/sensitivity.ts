/**
 * The two sensitivity views of every quantized tensor k, as end-to-end
 * output metrics on a few samples: only k quantized (everything else float)
 * and all but k quantized. One switchable model (./switchable.ts) serves
 * every variant, one (variant, sample) per batch row; it is cut into
 * segments (./segments.ts) so a variant starts from the cached float or int8
 * activations at the cut before k and only the part downstream of k is
 * recomputed — past k's segment, by the plain float or QDQ model. Cost: about
 * one downstream run per (tensor, sample, view); runtime calls are few.
 *
 * @module
 */

import type { Executor, ExecutorFactory, HostTensor } from "../exec/executor.ts";
import { OutputMetricsAccumulator } from "../metrics/accumulate.ts";
import { encodeModel } from "../onnx/model.ts";
import type { Model } from "../onnx/ir.ts";
import { chooseCuts, type Cut, extractSubModel } from "./segments.ts";
import { SWITCH_INPUT, type SwitchableModel } from "./switchable.ts";
import type { VariantMetrics } from "../report/schema.ts";

/** One slice of the three models between two cuts. */
interface Segment {
  /** Switchable, float and QDQ parts; the float part reads and writes float-model names. */
  switchable: Model;
  float: Model;
  qdq: Model;
}

/** The cut models and which segments each switch is read in. */
export interface SegmentPlan {
  cuts: Cut[];
  segments: Segment[];
  /** Switch index → first and last segment that reads it. */
  ranges: Map<number, [number, number]>;
  /** Switchable/QDQ tensor name → float-model name, for every tensor both have. */
  alias: ReadonlyMap<string, string>;
}

const unique = (names: string[]) => [...new Set(names)];

/**
 * Cuts the switchable, QDQ and float models at the same places, into about
 * `count` segments with equal numbers of quantized activations. `alias`
 * maps QDQ names to float names (identity where they agree); `activations`
 * are the QDQ names of the blended activations. Falls back to one segment
 * when the three models cannot be cut consistently.
 *
 * @example
 * ```ts ignore
 * const plan = planSegments(switchable, qdq, float, alias, new Set(activationNames), 12);
 * plan.segments.length; // ≤ 12
 * ```
 */
export function planSegments(
  switchable: SwitchableModel,
  qdq: Model,
  float: Model,
  alias: ReadonlyMap<string, string>,
  activations: ReadonlySet<string>,
  count: number,
): SegmentPlan {
  const w = switchable.model;
  const qdqNames = new Set(qdq.graph.nodes.flatMap((n) => n.outputs));
  for (const v of qdq.graph.inputs) qdqNames.add(v.name);
  const isPublic = (t: string) => alias.has(t) && qdqNames.has(t);
  const cost = (i: number) => {
    const n = w.graph.nodes[i]!;
    return n.opType === "Add" && activations.has(n.outputs[0]!) && n.name.endsWith(":switch_add") ? 1 : 0;
  };
  const build = (cuts: Cut[]): SegmentPlan => {
    const segments: Segment[] = [];
    for (let s = 0; s + 1 < cuts.length; s++) {
      const inputs = cuts[s]!.live;
      const outputs = cuts[s + 1]!.live.filter((t) => !inputs.includes(t));
      const floatInputs = unique(inputs.map((t) => alias.get(t)!));
      const floatOutputs = unique(outputs.map((t) => alias.get(t)!)).filter((t) => !floatInputs.includes(t));
      segments.push({
        switchable: extractSubModel(w, inputs, outputs, [SWITCH_INPUT]),
        float: extractSubModel(float, floatInputs, floatOutputs),
        qdq: extractSubModel(qdq, inputs, outputs),
      });
    }
    const ranges = new Map<number, [number, number]>();
    switchable.switchTensors.forEach((name, k) => {
      if (!name) return;
      segments.forEach((seg, s) => {
        if (!seg.switchable.graph.nodes.some((n) => n.inputs.includes(name))) return;
        const r = ranges.get(k);
        ranges.set(k, r ? [Math.min(r[0], s), Math.max(r[1], s)] : [s, s]);
      });
    });
    return { cuts, segments, ranges, alias };
  };
  const cuts = chooseCuts(w.graph, [SWITCH_INPUT], count, cost, isPublic);
  if (cuts.every((c) => c.live.every((t) => alias.has(t)))) {
    try {
      return build(cuts);
    } catch {
      // The float model's dataflow differs from the QDQ model's at some cut: use one segment.
    }
  }
  const n = w.graph.nodes.length;
  const whole = chooseCuts(w.graph, [SWITCH_INPUT], 1, cost, isPublic);
  return build([{ position: 0, live: whole[0]!.live }, { position: n, live: whole[whole.length - 1]!.live }]);
}

/** Activations of the first samples, one tensor (batch 1) per sample. */
export type SampleCache = Map<string, HostTensor[]>;

/** What the variants start from. */
export interface SensitivityInputs {
  /** Float-model tensors at every cut and the float outputs, by float name. */
  float: SampleCache;
  /** Fully quantized tensors at every cut and its outputs, by QDQ name. */
  quantized: SampleCache;
  /** Samples cached. */
  samples: number;
  /** Label per sample, when known. */
  labels: (number | undefined)[] | undefined;
}

/** Results of {@link runSensitivity}. */
export interface SensitivityResult {
  perUnit: Map<number, { onlyThis: VariantMetrics; allButThis: VariantMetrics }>;
  float: VariantMetrics;
  allQuantized: VariantMetrics;
  runs: number;
}

/**
 * Stacks batch-first tensors along the batch axis.
 *
 * @example
 * ```ts
 * import { concat } from "./sensitivity.ts";
 * concat([{ data: new Float32Array([1]), dims: [1, 1] }, { data: new Float32Array([2]), dims: [1, 1] }]).dims; // [2, 1]
 * ```
 */
export function concat(tensors: HostTensor[]): HostTensor {
  if (tensors.length === 1) return tensors[0]!;
  const total = tensors.reduce((n, t) => n + t.data.length, 0);
  const data = new Float32Array(total);
  let offset = 0, batch = 0;
  for (const t of tensors) {
    data.set(t.data, offset);
    offset += t.data.length;
    batch += t.dims[0] ?? 1;
  }
  return { data, dims: [batch, ...tensors[0]!.dims.slice(1)] };
}

/** Samples [start, start + count) of a batch-first tensor holding `batch` samples. */
function sliceBatch(t: HostTensor, batch: number, start: number, count: number): HostTensor {
  const per = t.data.length / batch;
  return { data: t.data.slice(start * per, (start + count) * per), dims: [count, ...t.dims.slice(1)] };
}

function toVariant(acc: OutputMetricsAccumulator): VariantMetrics {
  const r = acc.result();
  return { cosine: r.cosine, top1Agreement: r.top1Agreement ?? null, accuracy: r.int8Accuracy ?? null };
}

/**
 * Runs both views for every unit in `units` (switch indices) on the cached
 * samples, up to `maxBatch` (variant, sample) rows per runtime call.
 * `batchable`: the models take several samples per run (dynamic batch and
 * batch-first activations); otherwise every row runs alone.
 *
 * @example
 * ```ts ignore
 * const result = await runSensitivity(plan, switchable, createOrtExecutor, inputs, [0, 1, 2], {
 *   output: "logits", batchable: true,
 * });
 * result.perUnit.get(0)?.onlyThis.cosine;
 * ```
 */
export async function runSensitivity(
  plan: SegmentPlan,
  switchable: SwitchableModel,
  createExecutor: ExecutorFactory,
  inputs: SensitivityInputs,
  units: readonly number[],
  options: { output: string; batchable: boolean; threads?: number; maxBatch?: number },
): Promise<SensitivityResult> {
  const threads = options.threads ? { threads: options.threads } : {};
  const open = async (m: Model) => await createExecutor(encodeModel(m), threads);
  const sessions: Executor[] = [];
  const track = async (m: Model) => {
    const e = await open(m);
    sessions.push(e);
    return e;
  };
  const segs: { switchable?: Executor; float?: Executor; qdq?: Executor }[] = plan.segments.map(() => ({}));
  const sessionOf = async (s: number, kind: "switchable" | "float" | "qdq"): Promise<Executor> =>
    segs[s]![kind] ??= await track(plan.segments[s]![kind]);
  let runs = 0;
  const run = async (e: Executor, feeds: Record<string, HostTensor>, outputs: readonly string[]) => {
    runs++;
    return outputs.length === 0 ? new Map<string, HostTensor>() : await e.run(feeds, outputs);
  };

  const S = inputs.samples;
  const maxBatch = options.batchable ? Math.max(1, options.maxBatch ?? 16) : 1;
  const labelsOf = (samples: number[]) =>
    inputs.labels && samples.every((i) => inputs.labels![i] !== undefined)
      ? samples.map((i) => inputs.labels![i]!)
      : undefined;
  const floatOutput = (samples: number[]) => concat(samples.map((i) => inputs.float.get(options.output)![i]!));
  const quantOutput = (samples: number[]) => concat(samples.map((i) => inputs.quantized.get(options.output)![i]!));
  const accumulators = new Map<string, OutputMetricsAccumulator>();
  const accFor = (unit: number, view: string) => {
    const key = `${view}:${unit}`;
    let acc = accumulators.get(key);
    if (!acc) accumulators.set(key, acc = new OutputMetricsAccumulator(options.output));
    return acc;
  };

  const nSeg = plan.segments.length;
  const width = switchable.switches;
  try {
    for (const view of ["onlyThis", "allButThis"] as const) {
      const fromFloat = view === "onlyThis";
      // Variants that enter and leave the switchable part at the same cuts run together, one
      // (variant, sample) per row, through the same segments.
      const groups = new Map<string, { first: number; last: number; units: number[] }>();
      for (const k of units) {
        const r = plan.ranges.get(k);
        if (!r) continue;
        const key = `${r[0]}:${r[1]}`;
        const g = groups.get(key) ?? { first: r[0], last: r[1], units: [] };
        g.units.push(k);
        groups.set(key, g);
      }
      for (const { first, last, units: group } of groups.values()) {
        const rows = group.flatMap((unit) => Array.from({ length: S }, (_, sample) => ({ unit, sample })));
        for (let start = 0; start < rows.length; start += maxBatch) {
          const pack = rows.slice(start, start + maxBatch);
          const samples = pack.map((r) => r.sample);
          const switches = new Float32Array(pack.length * width).fill(fromFloat ? 0 : 1);
          pack.forEach((r, i) => switches[i * width + r.unit] = fromFloat ? 1 : 0);
          const values = new Map<string, HostTensor>();
          for (const t of plan.cuts[first]!.live) {
            const cached = fromFloat ? inputs.float.get(plan.alias.get(t)!) : inputs.quantized.get(t);
            if (!cached) throw new Error(`Sensitivity: no cached value of "${t}" at cut ${first}`);
            values.set(t, concat(samples.map((i) => cached[i]!)));
          }
          for (let s = first; s <= last; s++) {
            const seg = plan.segments[s]!.switchable;
            const feeds: Record<string, HostTensor> = {};
            for (const v of seg.graph.inputs) {
              feeds[v.name] = v.name === SWITCH_INPUT
                ? { data: switches, dims: [pack.length, width] }
                : values.get(v.name)!;
            }
            const out = await run(await sessionOf(s, "switchable"), feeds, seg.graph.outputs.map((o) => o.name));
            for (const [name, t] of out) values.set(name, t);
          }
          // Past `last` every variant of the view runs the same float or QDQ segments.
          if (fromFloat) {
            for (const t of plan.cuts[last + 1]!.live) values.set(plan.alias.get(t)!, values.get(t)!);
          }
          for (let s = last + 1; s < nSeg; s++) {
            const seg = fromFloat ? plan.segments[s]!.float : plan.segments[s]!.qdq;
            const feeds: Record<string, HostTensor> = {};
            for (const v of seg.graph.inputs) feeds[v.name] = values.get(v.name)!;
            const e = await sessionOf(s, fromFloat ? "float" : "qdq");
            const out = await run(e, feeds, seg.graph.outputs.map((o) => o.name));
            for (const [name, t] of out) values.set(name, t);
          }
          const result = values.get(options.output);
          if (!result) throw new Error(`Sensitivity: output "${options.output}" was not computed`);
          pack.forEach((r, i) =>
            accFor(r.unit, view).add(
              floatOutput([r.sample]),
              sliceBatch(result, pack.length, i, 1),
              1,
              labelsOf([r.sample]),
            )
          );
        }
      }
    }
  } finally {
    for (const e of sessions) await e.release();
  }

  const all = Array.from({ length: S }, (_, i) => i);
  const floatAcc = new OutputMetricsAccumulator(options.output);
  floatAcc.add(floatOutput(all), floatOutput(all), S, labelsOf(all));
  const quantAcc = new OutputMetricsAccumulator(options.output);
  quantAcc.add(floatOutput(all), quantOutput(all), S, labelsOf(all));
  const perUnit = new Map<number, { onlyThis: VariantMetrics; allButThis: VariantMetrics }>();
  for (const k of units) {
    const only = accumulators.get(`onlyThis:${k}`), allBut = accumulators.get(`allButThis:${k}`);
    if (only && allBut) perUnit.set(k, { onlyThis: toVariant(only), allButThis: toVariant(allBut) });
  }
  return { perUnit, float: toVariant(floatAcc), allQuantized: toVariant(quantAcc), runs };
}
