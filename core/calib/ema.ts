/**
 * EMA calibration as MNN's `quantized.out` does it with `feature_quantize_method: "EMA"`
 * (tools/quantization/calibration.cpp `_quantizeModelEMA` and the moving-average update of
 * tools/train/source/nn/NN.cpp `ConvBNReluFusedModule`):
 *
 * 1. The data are cut into batches of `batch_size` samples (default 32); a last partial batch
 *    is dropped, unless there is no full batch at all (MNN then lowers the batch size to the
 *    number of samples).
 * 2. Per batch: min and max of the whole batch, widened to contain 0, turned into an
 *    asymmetric grid with `scale = (max − min) / (2·clamp)` and
 *    `zeroPoint = round(−min / scale − clamp)`, then "nudged" to the grid:
 *    `min = (−clamp − zeroPoint)·scale`, `max = (clamp − zeroPoint)·scale`.
 * 3. The nudged min and max are averaged over batches: the first batch sets them, each later
 *    one updates `old·m + new·(1 − m)` with momentum `m = 0.99`.
 *
 * The result is an asymmetric range (no `threshold`); MNN stores it as int8 with a zero point,
 * here it becomes uint8 with `--asymmetric` (or max |x| with symmetric int8).
 *
 * Difference from MNN, on purpose: MNN runs the batches through a model whose earlier layers are
 * already fake-quantized (it is QAT machinery with learning rate 0); here every tensor sees the
 * float model's values, like the other calibrators.
 *
 * @module
 */

import { NonFiniteValueError } from "./histogram.ts";
import { MinMaxCalibrator } from "./minmax.ts";
import type { CalibrationRange, Calibrator, CalibratorOptions, PassInput } from "./types.ts";

/** MNN calibration.hpp: `int _batch = 32`. */
const DEFAULT_BATCH_SIZE = 32;
/** MNN NN.cpp ConvBNReluFusedModule: `float mMomentum = 0.99f`. */
const DEFAULT_DECAY = 0.99;

/**
 * MNN's fake-quant nudging of one batch range (NN.cpp `fakeQuantFeatureWithMinMax`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nudgedRange } from "./ema.ts";
 * // [0, 2.54] with clamp 127: scale 0.01, zero point round(0 - 127) = -127, nudged exactly back
 * const [min, max] = nudgedRange(0, 2.54, 127);
 * assert.ok(Math.abs(min) < 1e-12 && Math.abs(max - 2.54) < 1e-12);
 * ```
 */
export function nudgedRange(min: number, max: number, clamp: number): [number, number] {
  const lo = Math.min(0, min), hi = Math.max(0, max);
  if (!(hi - lo > 0)) return [0, 0];
  const scale = (hi - lo) / (2 * clamp);
  const zeroPoint = Math.round(-lo / scale - clamp);
  return [Math.min(0, (-clamp - zeroPoint) * scale), Math.max(0, (clamp - zeroPoint) * scale)];
}

/**
 * MNN's EMA calibrator for one tensor: one pass, per-sample min/max only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EmaCalibrator } from "./ema.ts";
 * const calibrator = new EmaCalibrator({ clamp: 127, emaBatchSize: 2, emaDecay: 0.5, shape: [1, 2] });
 * calibrator.observe(0, new Float32Array([0, 2.54])); // sample 0 (one sample of shape [1, 2])
 * calibrator.observe(0, new Float32Array([0, 2.54])); // sample 1: batch 1 spans [0, 2.54]
 * calibrator.observe(0, new Float32Array([0, 5.08])); // sample 2
 * calibrator.observe(0, new Float32Array([0, 1])); // sample 3: batch 2 spans [0, 5.08]
 * const range = calibrator.range(); // 0.5 · 2.54 + 0.5 · 5.08 (both already on their nudged grids)
 * assert.ok(Math.abs(range.max - 3.81) < 1e-6);
 * ```
 */
export class EmaCalibrator implements Calibrator {
  /** Config name of this method. */
  readonly method = "EMA";
  /** One pass. */
  readonly passes = 1;
  /** Samples per moving-average step. */
  readonly batchSize: number;
  /** Weight of the old value per step. */
  readonly decay: number;

  readonly #clamp: number;
  readonly #sampleSize: number | undefined;
  #observedMin = Infinity;
  #observedMax = -Infinity;
  #samples = 0;
  #batchMin = Infinity;
  #batchMax = -Infinity;
  #batchSamples = 0;
  #steps = 0;
  #emaMin = 0;
  #emaMax = 0;

  /** Builds a calibrator; `shape` (batch first) tells how many values make one sample. */
  constructor(options: CalibratorOptions) {
    this.batchSize = options.emaBatchSize ?? DEFAULT_BATCH_SIZE;
    this.decay = options.emaDecay ?? DEFAULT_DECAY;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new RangeError(`Cannot build EMA calibrator: batch size must be a positive integer, got ${this.batchSize}`);
    }
    if (!(this.decay >= 0 && this.decay < 1)) {
      throw new RangeError(`Cannot build EMA calibrator: decay must be in [0, 1), got ${this.decay}`);
    }
    this.#clamp = options.clamp;
    const shape = options.shape;
    this.#sampleSize = shape && shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : undefined;
  }

  /** EMA needs only each sample's min and max. */
  passInput(_pass: number): PassInput {
    return "ranges";
  }

  /**
   * Feeds values; with a known shape they are split into samples, otherwise the whole array is
   * one sample. Throws `NonFiniteValueError` on NaN or ±Infinity.
   */
  observe(pass: number, values: Float32Array): void {
    if (pass !== 0) throw new RangeError(`Cannot observe pass ${pass}: EMA has 1 pass (pass 0)`);
    const size = this.#sampleSize && values.length % this.#sampleSize === 0 ? this.#sampleSize : values.length;
    for (let start = 0; start < values.length; start += size) {
      const sample = new MinMaxCalibrator({ clamp: this.#clamp });
      try {
        sample.include(values.subarray(start, start + size));
      } catch (e) {
        throw e instanceof NonFiniteValueError ? new NonFiniteValueError(e.value, e.index + start) : e;
      }
      this.#addSample(sample.min, sample.max);
    }
  }

  /** Feeds per-sample minima and maxima (finite). */
  observeRanges(pass: number, mins: Float32Array, maxs: Float32Array): void {
    if (pass !== 0) throw new RangeError(`Cannot observe pass ${pass}: EMA has 1 pass (pass 0)`);
    for (let i = 0; i < mins.length; i++) this.#addSample(mins[i]!, maxs[i]!);
  }

  #addSample(min: number, max: number): void {
    this.#observedMin = Math.min(this.#observedMin, min);
    this.#observedMax = Math.max(this.#observedMax, max);
    this.#samples++;
    this.#batchMin = Math.min(this.#batchMin, min);
    this.#batchMax = Math.max(this.#batchMax, max);
    if (++this.#batchSamples === this.batchSize) this.#step();
  }

  #step(): void {
    const [min, max] = nudgedRange(this.#batchMin, this.#batchMax, this.#clamp);
    if (this.#steps === 0) {
      this.#emaMin = min;
      this.#emaMax = max;
    } else {
      this.#emaMin = this.#emaMin * this.decay + min * (1 - this.decay);
      this.#emaMax = this.#emaMax * this.decay + max * (1 - this.decay);
    }
    this.#steps++;
    this.#batchMin = Infinity;
    this.#batchMax = -Infinity;
    this.#batchSamples = 0;
  }

  /** The moving-average range (asymmetric: no threshold). Throws if nothing was observed. */
  range(): CalibrationRange {
    if (this.#samples === 0) throw new Error("Cannot compute EMA range: no values were observed");
    // MNN: fewer samples than one batch → the batch size becomes the sample count.
    if (this.#steps === 0) this.#step();
    return {
      min: this.#emaMin,
      max: this.#emaMax,
      observedMin: this.#observedMin,
      observedMax: this.#observedMax,
    };
  }
}

/**
 * Factory for {@link EmaCalibrator}, as listed in the registry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEmaCalibrator } from "./ema.ts";
 * assert.equal(createEmaCalibrator({ clamp: 127 }).batchSize, 32);
 * ```
 */
export function createEmaCalibrator(options: CalibratorOptions): EmaCalibrator {
  return new EmaCalibrator(options);
}
