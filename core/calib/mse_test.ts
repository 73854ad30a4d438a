import assert from "node:assert/strict";
import { MseCalibrator, quantizationError } from "./mse.ts";
import { GrowingAbsHistogram } from "./growing_histogram.ts";
import { PiecewiseUniform } from "./piecewise_uniform.ts";
import { laplaceSamples, mulberry32, uniformSamples } from "./_test_rng.ts";

/** Mean squared error of symmetric quantization with threshold t on the raw values. */
function exactMse(values: Float32Array, t: number, clamp: number): number {
  const s = t / clamp;
  let e = 0;
  for (const x of values) {
    const q = Math.max(-clamp, Math.min(clamp, Math.sign(x) * Math.round(Math.abs(x) / s)));
    e += (x - q * s) ** 2;
  }
  return e / values.length;
}

Deno.test("MSE: Laplace with outliers — threshold below max and within 1 % of the best error on the raw data", () => {
  const values = laplaceSamples(mulberry32(9), 100_000, 1);
  values[0] = 60;
  values[1] = -45;
  const calibrator = new MseCalibrator({ clamp: 127 });
  calibrator.observe(0, values);
  const t = calibrator.range().threshold;
  assert.ok(t < 45, `${t}`); // two far outliers in 100 000 values: clipping them is cheaper than a coarse grid
  let best = Infinity;
  for (let c = 2; c <= 60; c += 0.1) best = Math.min(best, exactMse(values, c, 127));
  assert.ok(exactMse(values, t, 127) < best * 1.01, `${exactMse(values, t, 127)} vs ${best}`);
});

Deno.test("MSE: uniform data keeps (nearly) the whole range", () => {
  const values = uniformSamples(mulberry32(10), 200_000, 2);
  const calibrator = new MseCalibrator({ clamp: 127 });
  calibrator.observe(0, values);
  const t = calibrator.range().threshold;
  assert.ok(t > 1.95 && t <= 2, `${t}`);
});

Deno.test("quantizationError: matches the raw-data error for fine bins", () => {
  const values = laplaceSamples(mulberry32(11), 100_000, 1);
  const h = new GrowingAbsHistogram({ binCount: 8192, deadZone: 0 });
  h.add(values);
  for (const t of [1, 3, 8]) {
    const fromHistogram = quantizationError(new PiecewiseUniform(h), t, 127) / values.length;
    const exact = exactMse(values, t, 127);
    assert.ok(Math.abs(fromHistogram - exact) / exact < 0.03, `t ${t}: ${fromHistogram} vs ${exact}`);
  }
});
