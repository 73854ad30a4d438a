import assert from "node:assert/strict";
import { EmaCalibrator, nudgedRange } from "./ema.ts";
import { NonFiniteValueError } from "./histogram.ts";

Deno.test("nudgedRange: MNN's grid nudging, hand-computed", () => {
  // [-1, 3], clamp 127: scale 4/254, zero point round(1/scale − 127) = round(63.5 − 127) = −63
  // (round half away from zero, like C's round), nudged min (−127 + 63)·scale, max (127 + 63)·scale
  const scale = 4 / 254;
  const [min, max] = nudgedRange(-1, 3, 127);
  assert.ok(Math.abs(min - -64 * scale) < 1e-12);
  assert.ok(Math.abs(max - 190 * scale) < 1e-12);
  assert.deepEqual(nudgedRange(2, 5, 127).map((x) => Math.round(x * 1e9) / 1e9), [0, 5]); // widened to contain 0
  assert.deepEqual(nudgedRange(0, 0, 127), [0, 0]);
});

Deno.test("EMA: moving average over batches of batch-size samples, momentum applied per batch", () => {
  const calibrator = new EmaCalibrator({ clamp: 127, emaBatchSize: 2, emaDecay: 0.9, shape: [1, 3] });
  // per-sample ranges: [0, 1], [0, 3] | [0, 2], [0, 2] | [0, 10] (a partial batch: dropped, as MNN does)
  calibrator.observeRanges(0, new Float32Array([0, 0, 0]), new Float32Array([1, 3, 2]));
  calibrator.observeRanges(0, new Float32Array([0, 0]), new Float32Array([2, 10]));
  const range = calibrator.range();
  // batch 1 max 3, batch 2 max 2 (grids on [0, x] nudge exactly): 0.9 · 3 + 0.1 · 2
  assert.ok(Math.abs(range.max - 2.9) < 1e-9, `${range.max}`);
  assert.equal(range.min, 0);
  assert.equal(range.threshold, undefined);
  assert.deepEqual([range.observedMin, range.observedMax], [0, 10]);
});

Deno.test("EMA: values split into samples by the shape give the same result as per-sample ranges", () => {
  const a = new EmaCalibrator({ clamp: 127, emaBatchSize: 3, shape: [2, 4] });
  const b = new EmaCalibrator({ clamp: 127, emaBatchSize: 3, shape: [2, 4] });
  const data = new Float32Array([-1, 0.5, 2, 0, /* sample 2 */ -3, 1, 1, 1, /* */ 0, 0, 4, -0.5, 1, 1, 1, 2]);
  a.observe(0, data.subarray(0, 8));
  a.observe(0, data.subarray(8, 16));
  b.observeRanges(0, new Float32Array([-1, -3, -0.5, 1]), new Float32Array([2, 1, 4, 2]));
  assert.deepEqual(a.range(), b.range());
});

Deno.test("EMA: fewer samples than one batch use them all (MNN lowers the batch size)", () => {
  const calibrator = new EmaCalibrator({ clamp: 127, shape: [1, 2] });
  calibrator.observe(0, new Float32Array([-2, 1]));
  const range = calibrator.range();
  assert.ok(range.min < 0 && range.max >= 1 && range.min >= -2.05, `${range.min} ${range.max}`);
});

Deno.test("EMA: NaN names its index in the array; bad options are rejected", () => {
  const calibrator = new EmaCalibrator({ clamp: 127, shape: [1, 2] });
  assert.throws(() => calibrator.observe(0, new Float32Array([1, 2, 3, NaN])), (e: unknown) => {
    return e instanceof NonFiniteValueError && e.index === 3;
  });
  assert.throws(() => new EmaCalibrator({ clamp: 127, emaBatchSize: 0 }), RangeError);
  assert.throws(() => new EmaCalibrator({ clamp: 127, emaDecay: 1 }), RangeError);
  assert.throws(() => new EmaCalibrator({ clamp: 127 }).range(), /no values/);
});
