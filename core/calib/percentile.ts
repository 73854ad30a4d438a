/**
 * Percentile calibration as ONNX Runtime's `PercentileCalibrater` (calibrate.py,
 * symmetric mode): a 2048-bin histogram of |x| in one pass, threshold at the given percentile
 * of |x| (default 99.999 %), never above max |x|. Differences from ORT, on purpose: the
 * threshold is interpolated within the bin where the cumulative share crosses the percentile
 * (ORT takes that bin's lower edge), and the histogram's range doubles instead of growing by
 * single bins, so memory stays fixed.
 *
 * @module
 */

import { HistogramCalibrator } from "./_histogram_calibrator.ts";
import type { GrowingAbsHistogram } from "./growing_histogram.ts";
import type { CalibratorOptions } from "./types.ts";

/** ORT calibrate.py create_calibrator: `percentile = 99.999`. */
export const DEFAULT_PERCENTILE = 99.999;
/** ORT calibrate.py create_calibrator: `num_bins = 2048` for Percentile. */
const DEFAULT_BINS = 2048;

/**
 * The |x| below which `percentile` % of the histogram's values lie, interpolated linearly
 * within a bin; values in the dead zone count as 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GrowingAbsHistogram } from "./growing_histogram.ts";
 * import { percentileOf } from "./percentile.ts";
 * const h = new GrowingAbsHistogram({ binCount: 4 });
 * h.add(new Float32Array([0.1, 0.3, 0.6, 0.9])); // edge 1: one value per bin of 0.25
 * assert.equal(percentileOf(h, 50), 0.5);
 * assert.equal(percentileOf(h, 100), 1);
 * ```
 */
export function percentileOf(histogram: GrowingAbsHistogram, percentile: number): number {
  const counts = histogram.counts;
  const width = histogram.binWidth;
  const target = (percentile / 100) * histogram.count;
  let below = histogram.skipped;
  if (below >= target) return 0;
  for (let k = 0; k < counts.length; k++) {
    const n = counts[k]!;
    if (below + n >= target) return (k + (target - below) / n) * width;
    below += n;
  }
  return histogram.edge;
}

/**
 * Percentile calibrator for one tensor: one pass.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PercentileCalibrator } from "./percentile.ts";
 * const calibrator = new PercentileCalibrator({ clamp: 127, percentile: 99 });
 * const values = new Float32Array(1000).map((_, i) => i / 1000); // uniform [0, 1)
 * values[999] = 50; // one outlier
 * calibrator.observe(0, values);
 * assert.ok(Math.abs(calibrator.range().threshold - 0.99) < 0.02);
 * ```
 */
export class PercentileCalibrator extends HistogramCalibrator {
  /** Config name of this method. */
  readonly method = "PERCENTILE";
  /** Share of |x| kept unclipped, in percent. */
  readonly percentile: number;

  /** Builds a calibrator; `options.percentile` in (0, 100] (default 99.999), `options.bins` (default 2048). */
  constructor(options: CalibratorOptions) {
    super(options, DEFAULT_BINS);
    this.percentile = options.percentile ?? DEFAULT_PERCENTILE;
    if (!(this.percentile > 0 && this.percentile <= 100)) {
      throw new RangeError(
        `Cannot build PERCENTILE calibrator: percentile must be in (0, 100], got ${this.percentile}`,
      );
    }
  }

  /** The |x| percentile. */
  protected threshold(): number {
    return percentileOf(this.histogram, this.percentile);
  }
}

/**
 * Factory for {@link PercentileCalibrator}, as listed in the registry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPercentileCalibrator } from "./percentile.ts";
 * assert.equal(createPercentileCalibrator({ clamp: 127 }).percentile, 99.999);
 * ```
 */
export function createPercentileCalibrator(options: CalibratorOptions): PercentileCalibrator {
  return new PercentileCalibrator(options);
}
