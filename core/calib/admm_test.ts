import assert from "node:assert/strict";
import { AdmmCalibrator, admmScale } from "./admm.ts";
import { GrowingAbsHistogram } from "./growing_histogram.ts";
import { gaussianSamples, laplaceSamples, mulberry32 } from "./_test_rng.ts";

/** Σ q·x / Σ q² over the raw values, q = clamp(round(x / α)) — MNN's update, exactly. */
function exactUpdate(values: Float32Array, alpha: number, clamp: number): number {
  let qx = 0, qq = 0;
  for (const x of values) {
    const r = Math.sign(x) * Math.round(Math.abs(x) / alpha);
    const q = Math.max(-clamp, Math.min(clamp, r));
    qx += q * x;
    qq += q * q;
  }
  return qx / qq;
}

Deno.test("ADMM: the threshold is a fixed point of MNN's update on the raw data", () => {
  for (
    const [name, values] of [
      ["gaussian", gaussianSamples(mulberry32(1), 200_000)],
      ["laplace", laplaceSamples(mulberry32(2), 200_000, 0.5)],
    ] as const
  ) {
    const calibrator = new AdmmCalibrator({ clamp: 127 });
    for (let start = 0; start < values.length; start += 10_000) {
      calibrator.observe(0, values.subarray(start, start + 10_000));
    }
    const alpha = calibrator.range().threshold / 127;
    const next = exactUpdate(values, alpha, 127);
    // the histogram (4096 bins) stands in for the values: a fixed point within 0.5 %
    assert.ok(Math.abs(next - alpha) / alpha < 5e-3, `${name}: α ${alpha}, update ${next}`);
  }
});

Deno.test("ADMM: clips heavy tails below max |x| and matches a direct iteration", () => {
  const values = laplaceSamples(mulberry32(3), 100_000, 1);
  values[5] = 80; // outlier
  const calibrator = new AdmmCalibrator({ clamp: 127 });
  calibrator.observe(0, values);
  const range = calibrator.range();
  assert.ok(range.threshold < 60, `${range.threshold}`); // MNN's 300 steps end well below the outlier
  // the iteration from MNN's start point on the raw data lands at the same place
  let alpha = 80 / (127 * 2.5);
  for (let i = 0; i < 300; i++) alpha = exactUpdate(values, alpha, 127);
  assert.ok(Math.abs(alpha * 127 - range.threshold) / range.threshold < 0.02, `${alpha * 127} vs ${range.threshold}`);
});

Deno.test("admmScale: a smaller clamp gives a coarser step", () => {
  const h = new GrowingAbsHistogram({ binCount: 4096 });
  h.add(gaussianSamples(mulberry32(4), 50_000));
  assert.ok(admmScale(h, 7) > 10 * admmScale(h, 127));
});
