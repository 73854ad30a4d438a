import assert from "node:assert/strict";
import { TensorDebugAccumulator } from "./tensor_debug.ts";
import { clippingRates, cosineSimilarity, euclideanSimilarity, overflowRate, sqnrDb } from "./similarity.ts";
import { mulberry32 } from "../calib/_test_rng.ts";

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

Deno.test("TensorDebugAccumulator: hand-computed metrics of a two-sample batch", () => {
  const params = { scale: 1, zeroPoint: 0, qmin: -2, qmax: 2 };
  // sample 0: float [3, 0.25] → int8 [2, 0] (3 clipped high, 0.25 flushed to 0); sample 1: [1, -1] exact
  const f = { data: new Float32Array([3, 0.25, 1, -1]), dims: [2, 2] };
  const q = { data: new Float32Array([2, 0, 1, -1]), dims: [2, 2] };
  const acc = new TensorDebugAccumulator(params);
  acc.add(f, q, 2);
  const m = acc.metrics();
  const cos0 = 6 / (Math.sqrt(9.0625) * 2); // a·b = 6, |a| = √9.0625, |b| = 2
  close(m.cosine, (cos0 + 1) / 2);
  close(m.minCosine, cos0);
  close(m.overflowRate, (0.5 + 0) / 2); // q = 2 sits at the end in sample 0
  close(m.saturationHigh, 0.25);
  assert.equal(m.saturationLow, 0);
  close(m.roundedToZero, 0.25);
  // sample 1 is exact: SQNR only from sample 0
  assert.ok(m.sqnrDb !== null);
  close(m.sqnrDb, sqnrDb(new Float32Array([3, 0.25]), new Float32Array([2, 0])), 1e-6);
  assert.equal(m.observedMin, -1);
  assert.equal(m.observedMax, 3);
  assert.equal(m.samples, 2);
});

Deno.test("TensorDebugAccumulator: its one-pass sums agree with the reference metric functions", () => {
  const random = mulberry32(5);
  const params = { scale: 0.02, zeroPoint: 0, qmin: -127, qmax: 127 };
  const batch = 3, per = 500;
  const f = new Float32Array(batch * per).map(() => (random() - 0.5) * 6);
  const q = f.map((x) => Math.max(-127, Math.min(127, Math.round(x / params.scale))) * params.scale);
  const acc = new TensorDebugAccumulator(params);
  acc.add({ data: f, dims: [batch, per] }, { data: q, dims: [batch, per] }, batch);
  const m = acc.metrics();
  const mean = (fn: (s: number, e: number) => number) =>
    [0, 1, 2].reduce((sum, i) => sum + fn(i * per, (i + 1) * per), 0) / batch;
  close(m.cosine, mean((s, e) => cosineSimilarity(f, q, s, e)), 1e-12);
  close(m.euclidean, mean((s, e) => euclideanSimilarity(f, q, s, e)), 1e-9);
  close(m.sqnrDb!, mean((s, e) => sqnrDb(f, q, s, e)), 1e-6);
  close(m.overflowRate, mean((s, e) => overflowRate(q, params, s, e)), 1e-12);
  close(m.saturationHigh, mean((s, e) => clippingRates(f, params, s, e).high), 1e-12);
  close(m.saturationLow, mean((s, e) => clippingRates(f, params, s, e).low), 1e-12);
  close(m.roundedToZero, mean((s, e) => clippingRates(f, params, s, e).roundedToZero), 1e-12);
  assert.ok(m.saturationHigh > 0 && m.saturationLow > 0 && m.roundedToZero > 0, "the data exercises every count");
  const hist = acc.histogramSummary();
  assert.equal(hist.counts.reduce((a, b) => a + b, 0), batch * per);
  assert.ok(hist.min <= m.observedMin && hist.max > m.observedMax);
  assert.equal(acc.scatter().float.length, 48); // 16 positions offered per sample, capacity 200
});

Deno.test("TensorDebugAccumulator: the histogram strides through large tensors, the metrics do not", () => {
  const params = { scale: 0.01, zeroPoint: 0, qmin: -127, qmax: 127 };
  const f = new Float32Array(1000).map((_, i) => i / 1000);
  const acc = new TensorDebugAccumulator(params, { histogramValues: 100 });
  acc.add({ data: f, dims: [2, 500] }, { data: f, dims: [2, 500] }, 2);
  // 500 values per sample, at most 100 counted: every 5th.
  assert.equal(acc.histogramSummary().counts.reduce((a, b) => a + b, 0), 200);
  assert.equal(acc.metrics().observedMax, Math.fround(0.999)); // extremes over every value
  assert.equal(acc.metrics().cosine, 1);
});
