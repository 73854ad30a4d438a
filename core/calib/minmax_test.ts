import assert from "node:assert/strict";
import { NonFiniteValueError } from "./histogram.ts";
import { MinMaxCalibrator } from "./minmax.ts";
import { mulberry32, uniformSamples } from "./_test_rng.ts";

Deno.test("MinMax: uniform[-a, a] gives exactly the extreme samples", () => {
  const data = uniformSamples(mulberry32(3), 50_000, 2.5);
  let min = Infinity;
  let max = -Infinity;
  for (const x of data) {
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const calibrator = new MinMaxCalibrator({ clamp: 127 });
  calibrator.observe(0, data);
  assert.deepEqual(calibrator.range(), {
    min,
    max,
    threshold: Math.max(-min, max),
    observedMin: min,
    observedMax: max,
  });
  assert.ok(min > -2.5 && min < -2.49 && max < 2.5 && max > 2.49);
});

Deno.test("MinMax: batches in any split give the same range", () => {
  const data = uniformSamples(mulberry32(4), 9_999, 1);
  const whole = new MinMaxCalibrator({ clamp: 127 });
  whole.observe(0, data);
  const parts = new MinMaxCalibrator({ clamp: 127 });
  for (let start = 0; start < data.length; start += 1000) parts.observe(0, data.subarray(start, start + 1000));
  assert.deepEqual(parts.range(), whole.range());
  assert.equal(parts.count, 9_999);
});

Deno.test("MinMax: threshold is the larger magnitude even when both ends have one sign", () => {
  const calibrator = new MinMaxCalibrator({ clamp: 127 });
  calibrator.observe(0, new Float32Array([-6, -2, -3]));
  assert.deepEqual(calibrator.range(), { min: -6, max: -2, threshold: 6, observedMin: -6, observedMax: -2 });
});

Deno.test("MinMax: NaN and ±Infinity throw NonFiniteValueError", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const calibrator = new MinMaxCalibrator({ clamp: 127 });
    calibrator.observe(0, new Float32Array([1, 2]));
    const values = new Float32Array([0, 1, 2, bad, 3]);
    assert.throws(() => calibrator.observe(0, values), (error: unknown) => {
      assert.ok(error instanceof NonFiniteValueError);
      assert.equal(error.index, 3);
      assert.match(error.message, /NaN|Inf/);
      return true;
    });
  }
});

Deno.test("MinMax: one pass only, and no range before any value", () => {
  const calibrator = new MinMaxCalibrator({ clamp: 127 });
  assert.equal(calibrator.passes, 1);
  assert.throws(() => calibrator.observe(1, new Float32Array([1])), RangeError);
  assert.throws(() => calibrator.range(), /no values were observed/);
  calibrator.observe(0, new Float32Array(0));
  assert.throws(() => calibrator.range(), /no values were observed/);
});

Deno.test("MinMax: long arrays (WebAssembly range) give the exact extremes and catch NaN anywhere", () => {
  const data = uniformSamples(mulberry32(12), 10_001, 4);
  let min = Infinity, max = -Infinity;
  for (const x of data) [min, max] = [Math.min(min, x), Math.max(max, x)];
  const calibrator = new MinMaxCalibrator({ clamp: 127 });
  calibrator.observe(0, data);
  assert.deepEqual([calibrator.min, calibrator.max], [min, max]);
  for (const at of [5, 4000, 10_000]) {
    const bad = data.slice();
    bad[at] = NaN;
    assert.throws(() => new MinMaxCalibrator({ clamp: 127 }).observe(0, bad), (e: unknown) => {
      return e instanceof NonFiniteValueError && e.index === at;
    });
  }
});
