import assert from "node:assert/strict";
import { argmax, cosineSimilarity, overflowRate } from "./similarity.ts";

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
