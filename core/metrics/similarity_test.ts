import assert from "node:assert/strict";
import { argmax, clippingRates, cosineSimilarity, euclideanSimilarity, overflowRate, sqnrDb } from "./similarity.ts";

Deno.test("cosineSimilarity: hand-computed values", () => {
  // a·b = 1·2 + 2·0 + 2·1 = 4; |a| = 3, |b| = √5
  const c = cosineSimilarity(new Float32Array([1, 2, 2]), new Float32Array([2, 0, 1]));
  assert.ok(Math.abs(c - 4 / (3 * Math.sqrt(5))) < 1e-12);
  assert.equal(cosineSimilarity(new Float32Array([1, 0]), new Float32Array([-1, 0])), -1);
  assert.equal(cosineSimilarity(new Float32Array([0, 0]), new Float32Array([0, 0])), 1);
  assert.equal(cosineSimilarity(new Float32Array([0, 0]), new Float32Array([1, 0])), 0);
  // a sub-range: only elements 1..2
  assert.ok(Math.abs(cosineSimilarity(new Float32Array([9, 1, 1]), new Float32Array([-9, 2, 2]), 1, 3) - 1) < 1e-12);
});

Deno.test("overflowRate: share of values at the ends of the integer range", () => {
  const params = { scale: 0.5, zeroPoint: 0, qmin: -127, qmax: 127 };
  // 63.5 → q 127 (end), -63.5 → q -127 (end), 10 → q 20, -64 → q -128 (saturated)
  assert.equal(overflowRate(new Float32Array([63.5, -63.5, 10, -64]), params), 0.75);
  const u8 = { scale: 1, zeroPoint: 10, qmin: 0, qmax: 255 };
  assert.equal(overflowRate(new Float32Array([-10, 245, 0, 5]), u8), 0.5);
});

Deno.test("argmax: first maximum within a range", () => {
  assert.equal(argmax(new Float32Array([3, 1, 3])), 0);
  assert.equal(argmax(new Float32Array([9, 1, 2, 2]), 1, 4), 1);
});

Deno.test("euclideanSimilarity: tpu-mlir's 1 − ‖a−b‖ / ‖(a+b)/2‖ on hand-computed values", () => {
  // a − b = [0, 2] → 2; (a + b) / 2 = [1, 1] → √2
  const close = (x: number, y: number) => assert.ok(Math.abs(x - y) < 1e-6, `${x} vs ${y}`);
  close(euclideanSimilarity(new Float32Array([1, 2]), new Float32Array([1, 0])), 1 - 2 / Math.SQRT2);
  // a − b = [0, 2] → 2; (a + b) / 2 = [2, 1] → √5
  close(euclideanSimilarity(new Float32Array([2, 2]), new Float32Array([2, 0])), 1 - 2 / Math.sqrt(5));
  assert.equal(euclideanSimilarity(new Float32Array([3, 4]), new Float32Array([3, 4])), 1);
  assert.equal(euclideanSimilarity(new Float32Array([0, 0]), new Float32Array([0, 0])), 1);
  // a sub-range: only elements 1..2 ([2, 2] vs [2, 0])
  close(euclideanSimilarity(new Float32Array([9, 2, 2]), new Float32Array([-9, 2, 0]), 1, 3), 1 - 2 / Math.sqrt(5));
});

Deno.test("sqnrDb: zero-mean variances of signal and noise, as tpu-mlir", () => {
  // signal [1, 3]: mean 2, Σ(a − 2)² = 2; noise a − b = [0, 1]: mean 0.5, Σ = 0.5 → 10·log10(4)
  assert.ok(Math.abs(sqnrDb(new Float32Array([1, 3]), new Float32Array([1, 2])) - 10 * Math.log10(4)) < 1e-9);
  // a constant offset is zero-mean noise 0: no noise
  assert.equal(sqnrDb(new Float32Array([1, 3]), new Float32Array([2, 4])), Infinity);
  assert.equal(sqnrDb(new Float32Array([1, 3]), new Float32Array([1, 3])), Infinity);
  assert.equal(sqnrDb(new Float32Array([2, 2]), new Float32Array([1, 3])), Infinity); // constant signal
  // signal [0, 4, 0, 4] (Σ 16), noise [0, 1, 0, 0] (mean 0.25, Σ 0.75) → 10·log10(16 / 0.75)
  const v = sqnrDb(new Float32Array([0, 4, 0, 4]), new Float32Array([0, 3, 0, 4]));
  assert.ok(Math.abs(v - 10 * Math.log10(16 / 0.75)) < 1e-9);
});

Deno.test("clippingRates: saturated at both ends and flushed to zero, on the integer grid", () => {
  // scale 1, zero point 10, [0, 255]: x is clipped above 245.5 and below −10.5, zero below |0.5|
  const u8 = { scale: 1, zeroPoint: 10, qmin: 0, qmax: 255 };
  assert.deepEqual(clippingRates(new Float32Array([246, -11, 0.3, 0, 5]), u8), {
    low: 0.2,
    high: 0.2,
    roundedToZero: 0.2,
  });
  // symmetric ±127 at scale 0.5: 63.75 → q 128 (clipped), −63.5 → q −127 (kept), 0.2 → 0, −0.3 → −1
  const s8 = { scale: 0.5, zeroPoint: 0, qmin: -127, qmax: 127 };
  assert.deepEqual(clippingRates(new Float32Array([63.75, -63.5, 0.2, -0.3]), s8), {
    low: 0,
    high: 0.25,
    roundedToZero: 0.25,
  });
  assert.deepEqual(clippingRates(new Float32Array([]), s8), { low: 0, high: 0, roundedToZero: 0 });
});

Deno.test("overflowRate: exact zeros of a uint8 tensor with zero point 0 are not overflow", () => {
  const params = { scale: 0.1, zeroPoint: 0, qmin: 0, qmax: 255 };
  // 0 → q 0 (in range), 25.5 → q 255 (end), -1 → clipped below 0
  assert.equal(overflowRate(new Float32Array([0, 0, 25.5, -1]), params), 0.5);
});
