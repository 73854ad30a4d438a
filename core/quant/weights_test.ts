import assert from "node:assert/strict";
import { quantizeBias, quantizeWeights } from "./weights.ts";

Deno.test("quantizeWeights: per output channel (axis 0), hand-computed", () => {
  // channel 0: max 2 → scale 2/127; channel 1: max 0.5 → scale 0.5/127
  const w = new Float32Array([1, -2, 0.25, 0.5]);
  const q = quantizeWeights(w, [2, 2], 0, 127);
  assert.deepEqual(Array.from(q.scales), [2 / 127, 0.5 / 127].map(Math.fround));
  assert.deepEqual(Array.from(q.data), [64, -127, 64, 127]); // 63.5 rounds away from zero
});

Deno.test("quantizeWeights: axis 1 (Gemm with B as [K, N]) and per tensor", () => {
  const w = new Float32Array([1, 10, -1, -5]); // [[1, 10], [-1, -5]]
  const q = quantizeWeights(w, [2, 2], 1, 127);
  assert.deepEqual(Array.from(q.scales), [1 / 127, 10 / 127].map(Math.fround));
  assert.deepEqual(Array.from(q.data), [127, 127, -127, -64]);
  const t = quantizeWeights(w, [2, 2], undefined, 127);
  assert.equal(t.scales.length, 1);
  assert.deepEqual(Array.from(t.data), [13, 127, -13, -64]);
});

Deno.test("quantizeWeights: clamp 120 and an all-zero channel", () => {
  const q = quantizeWeights(new Float32Array([0, 0, 3, -1.5]), [2, 2], 0, 120);
  assert.equal(q.scales[0], 1);
  assert.deepEqual(Array.from(q.data), [0, 0, 120, -60]);
});

Deno.test("quantizeBias: int32 with scale s_in · s_w, saturating", () => {
  const b = quantizeBias(new Float32Array([1, -1, 1e12]), 0.5, new Float32Array([0.1, 0.2, 0.1]));
  assert.deepEqual(Array.from(b.data), [20, -10, 2147483647]);
  assert.ok(Math.abs(b.scales[1]! - 0.1) < 1e-7);
});
