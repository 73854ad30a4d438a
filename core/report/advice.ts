/**
 * Turning a tensor's metrics into a concrete next step, and ordering the
 * tensors worst first. The rules are a table: each names the metric it reads
 * and the flag or setting it suggests.
 *
 * @module
 */

import type { Advice, TensorEntry, VariantMetrics } from "./schema.ts";

/** What the rules may read about one tensor. */
export type AdviceInput = Pick<
  TensorEntry,
  | "tensor"
  | "op"
  | "node"
  | "skip"
  | "qmax"
  | "zeroPoint"
  | "scale"
  | "clipMin"
  | "clipMax"
  | "observedMin"
  | "observedMax"
  | "thresholdRatio"
  | "cosine"
  | "overflowRate"
  | "sqnrDb"
  | "saturationLow"
  | "saturationHigh"
  | "roundedToZero"
  | "weightsPerChannel"
  | "sensitivity"
>;

/** The whole model's numbers the rules compare a tensor with. */
export interface AdviceContext {
  /** Output metrics of the fully quantized model on the sensitivity samples, when computed. */
  allQuantized: VariantMetrics | null;
}

/** Thresholds of the rules (tpu-mlir's default cosine tolerance is 0.99). */
export const ADVICE_LIMITS = {
  /** Below this cosine (or SQNR), a tensor's own error is worth acting on. */
  cosine: 0.99,
  sqnrDb: 20,
  /** Share of values clipped at the range ends that calls for a wider range. */
  saturation: 0.005,
  /** Share of non-zero values flushed to zero that calls for a finer step. */
  roundedToZero: 0.1,
  /** Range wider than the data by this factor wastes resolution. */
  wideRange: 2,
  /** A layer alone causing this share of the whole model's output error (and at least `minDrop`). */
  shareOfDrop: 0.2,
  minDrop: 1e-4,
} as const;

const pct = (x: number) => `${(x * 100).toFixed(x < 0.01 ? 2 : 1)} %`;
const fmt = (x: number) => Number(x.toPrecision(4)).toString();

interface Rule {
  action: Advice["action"];
  applies: (t: AdviceInput, c: AdviceContext) => boolean;
  message: (t: AdviceInput, c: AdviceContext) => string;
}

const isBad = (t: AdviceInput) => t.cosine < ADVICE_LIMITS.cosine || (t.sqnrDb ?? Infinity) < ADVICE_LIMITS.sqnrDb;
const saturation = (t: AdviceInput) => t.saturationLow + t.saturationHigh;
const aloneDrop = (t: AdviceInput) => t.sensitivity ? 1 - t.sensitivity.onlyThis.cosine : 0;

const RULES: Rule[] = [
  {
    action: "skip",
    applies: (t, c) => {
      if (!t.sensitivity || t.op === "input") return false;
      const total = c.allQuantized ? 1 - c.allQuantized.cosine : 0;
      const drop = aloneDrop(t);
      const flips = (t.sensitivity.onlyThis.top1Agreement ?? 1) < 1;
      return drop >= ADVICE_LIMITS.minDrop && (drop >= ADVICE_LIMITS.shareOfDrop * total || flips);
    },
    message: (t, c) => {
      const only = t.sensitivity!.onlyThis;
      const total = c.allQuantized ? ` (all layers: ${fmt(c.allQuantized.cosine)})` : "";
      const agree = only.top1Agreement !== null && only.top1Agreement < 1
        ? `, top-1 agreement ${pct(only.top1Agreement)}`
        : "";
      return `Quantizing only this layer already drops the output cosine to ${fmt(only.cosine)}${total}${agree}: ` +
        `keep it in float with --skip ${t.skip.join(",")}`;
    },
  },
  {
    action: "check-input",
    applies: (t) => t.op === "input" && (saturation(t) >= ADVICE_LIMITS.saturation || isBad(t)),
    message: (t) =>
      `The model input is ${
        saturation(t) > 0 ? `clipped for ${pct(saturation(t))} of values` : "coarsely quantized"
      } ` +
      `(range ${fmt(t.clipMin)}…${fmt(t.clipMax)}, data ${fmt(t.observedMin)}…${fmt(t.observedMax)}): ` +
      `check --mean/--std against the model's training preprocessing`,
  },
  {
    action: "switch-method",
    applies: (t) => t.op !== "input" && (saturation(t) >= ADVICE_LIMITS.saturation || t.overflowRate >= 0.01),
    message: (t) => {
      const clamp = t.zeroPoint === 0 && t.qmax < 127 ? ` or raise --feature-clamp from ${t.qmax} to 127` : "";
      return `${pct(saturation(t))} of values are clipped (MNN overflow rate ${pct(t.overflowRate)}): the range ` +
        `${fmt(t.clipMin)}…${fmt(t.clipMax)} is narrower than the data ${fmt(t.observedMin)}…${fmt(t.observedMax)}; ` +
        `calibrate with --method MINMAX (or a percentile) so the range covers it${clamp}`;
    },
  },
  {
    action: "switch-method",
    applies: (t) =>
      t.op !== "input" && isBad(t) && saturation(t) < ADVICE_LIMITS.saturation &&
      (t.thresholdRatio ?? 0) >= ADVICE_LIMITS.wideRange,
    message: (t) =>
      `The range is ${fmt(t.thresholdRatio!)}× wider than the data (a few outliers stretch it) and nothing is ` +
      `clipped: calibrate with --method KL (or a percentile) to spend the 8 bits where the values are`,
  },
  {
    action: "more-bits",
    applies: (t) =>
      isBad(t) && saturation(t) < ADVICE_LIMITS.saturation && t.roundedToZero >= ADVICE_LIMITS.roundedToZero,
    message: (t) =>
      `${pct(t.roundedToZero)} of non-zero values round to zero (step ${fmt(t.scale)}): the distribution is too ` +
      `wide for 8 bits; give this tensor 16-bit activations (int16)` +
      (t.skip.length > 0 ? ` or keep it in float with --skip ${t.skip.join(",")}` : ""),
  },
  {
    action: "per-channel",
    applies: (t) => t.weightsPerChannel === false && isBad(t),
    message: () => `Its weights share one scale per tensor: quantize them per output channel (drop --per-tensor)`,
  },
];

/**
 * The advice for one tensor, most specific first; empty when nothing stands out.
 *
 * @example
 * ```ts
 * import { adviseTensor } from "./advice.ts";
 * const advice = adviseTensor({
 *   tensor: "relu1", op: "Relu", node: "relu1", skip: ["conv1", "relu1"], qmax: 127, zeroPoint: 0, scale: 0.01, clipMin: -1.27, clipMax: 1.27,
 *   observedMin: 0, observedMax: 6, thresholdRatio: 0.21, cosine: 0.9, overflowRate: 0.2, sqnrDb: 9,
 *   saturationLow: 0, saturationHigh: 0.2, roundedToZero: 0, weightsPerChannel: true, sensitivity: null,
 * }, { allQuantized: null });
 * advice[0]?.action; // "switch-method"
 * ```
 */
export function adviseTensor(tensor: AdviceInput, context: AdviceContext): Advice[] {
  return RULES.filter((r) => r.applies(tensor, context)).map((r) => ({
    action: r.action,
    message: r.message(tensor, context),
  }));
}

/**
 * Orders tensors worst first. With sensitivity: by the output cosine drop
 * when only that tensor is quantized (the cause, not where the error shows
 * up downstream), ties by its own cosine; without: by its own cosine.
 *
 * @example
 * ```ts
 * import { rankTensors } from "./advice.ts";
 * rankTensors([{ index: 0, cosine: 0.99, sensitivity: null }, { index: 1, cosine: 0.9, sensitivity: null }]);
 * // { by: "cosine", order: [1, 0] }
 * ```
 */
export function rankTensors(
  tensors: readonly Pick<TensorEntry, "index" | "cosine" | "sensitivity">[],
): { by: "sensitivity" | "cosine"; order: number[] } {
  const withSensitivity = tensors.length > 0 && tensors.some((t) => t.sensitivity !== null);
  const drop = (t: Pick<TensorEntry, "sensitivity">) => t.sensitivity ? 1 - t.sensitivity.onlyThis.cosine : -1;
  const sorted = [...tensors].sort((a, b) =>
    withSensitivity ? drop(b) - drop(a) || a.cosine - b.cosine : a.cosine - b.cosine
  );
  return { by: withSensitivity ? "sensitivity" : "cosine", order: sorted.map((t) => t.index) };
}
