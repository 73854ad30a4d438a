import assert from "node:assert/strict";
import { PercentileCalibrator } from "./percentile.ts";
import { laplaceSamples, mulberry32, uniformSamples } from "./_test_rng.ts";

Deno.test("PERCENTILE: uniform |x| — the p-th percentile is p % of the range", () => {
  const values = uniformSamples(mulberry32(7), 400_000, 3);
  for (const percentile of [50, 90, 99]) {
    const calibrator = new PercentileCalibrator({ clamp: 127, percentile });
    calibrator.observe(0, values);
    const expected = 3 * percentile / 100;
    assert.ok(
      Math.abs(calibrator.range().threshold - expected) < 0.01,
      `${percentile}: ${calibrator.range().threshold}`,
    );
  }
});

Deno.test("PERCENTILE: Laplace with outliers — threshold near the analytic quantile, far below max", () => {
  const b = 0.5;
  const values = laplaceSamples(mulberry32(8), 1_000_000, b);
  for (let i = 0; i < 10; i++) values[i * 1000] = 50 + i;
  const calibrator = new PercentileCalibrator({ clamp: 127, percentile: 99.9 });
  calibrator.observe(0, values);
  const range = calibrator.range();
  const expected = -b * Math.log(1 - 0.999); // |X| ~ Exponential(1/b)
  assert.ok(Math.abs(range.threshold - expected) / expected < 0.03, `${range.threshold} vs ${expected}`);
  assert.equal(range.observedMax, 59);
  assert.deepEqual([range.min, range.max], [-range.threshold, range.threshold]);
});

Deno.test("PERCENTILE: 100 % is max |x|; out-of-range percentiles are rejected", () => {
  const calibrator = new PercentileCalibrator({ clamp: 127, percentile: 100 });
  calibrator.observe(0, new Float32Array([0.1, -0.7, 0.3]));
  assert.equal(calibrator.range().threshold, Math.fround(0.7));
  for (const percentile of [0, -1, 100.5, NaN]) {
    assert.throws(() => new PercentileCalibrator({ clamp: 127, percentile }), RangeError);
  }
});
