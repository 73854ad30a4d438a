import assert from "node:assert/strict";
import { dequantizeWeights, quantizeBias, quantizeWeights } from "./weights.ts";
import { mulberry32 } from "../calib/_test_rng.ts";

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

Deno.test("quantizeWeights ADMM: a fixed point α = Σ w·q / Σ q² per channel, error below MNN's start point", () => {
  const random = mulberry32(21);
  const dims = [4, 64];
  const w = new Float32Array(256);
  for (let i = 0; i < w.length; i++) w[i] = (random() - 0.5) * (1 + (i >> 6)) * (random() < 0.02 ? 8 : 1);
  const admm = quantizeWeights(w, dims, 0, 127, { method: "ADMM" });
  const back = dequantizeWeights(admm, dims);
  for (let c = 0; c < 4; c++) {
    const channel = w.subarray(c * 64, (c + 1) * 64);
    let wq = 0, qq = 0, error = 0, startError = 0;
    const alpha0 = Math.max(...channel.map(Math.abs)) / (127 * 1.25); // MNN InitAlpha
    for (let i = 0; i < 64; i++) {
      const x = channel[i]!, q = admm.data[c * 64 + i]!;
      wq += x * q;
      qq += q * q;
      error += (x - back[c * 64 + i]!) ** 2;
      const q0 = Math.max(-127, Math.min(127, Math.sign(x) * Math.round(Math.abs(x) / alpha0)));
      startError += (x - q0 * alpha0) ** 2;
    }
    assert.ok(Math.abs(wq / qq - admm.scales[c]!) / admm.scales[c]! < 1e-6, `channel ${c}`);
    // each alternating step can only lower ‖w − α·q‖²
    assert.ok(error <= startError, `channel ${c}: ${error} vs ${startError}`);
  }
});

Deno.test("quantizeWeights: asymmetric uses [-clamp-1, clamp] with a per-channel zero point", () => {
  // channel 0 in [0, 2.55]: scale 0.01, zero point -128; channel 1 in [-1, 0]: zero point 127
  const w = new Float32Array([0, 1, 2.55, -1, -0.5, 0]);
  const q = quantizeWeights(w, [2, 3], 0, 127, { symmetric: false });
  assert.deepEqual(Array.from(q.zeroPoints!), [-128, 127]);
  assert.deepEqual(Array.from(q.data), [-128, -28, 127, -128, 0, 127]);
  const back = dequantizeWeights(q, [2, 3]);
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(back[i]! - w[i]!) <= q.scales[i < 3 ? 0 : 1]! / 2 + 1e-7);
  assert.throws(() => quantizeWeights(w, [2, 3], 0, 127, { symmetric: false, method: "ADMM" }), /only MAX_ABS/);
});

Deno.test("quantizeWeights: 4-bit clamp 7 keeps every level in [-7, 7]", () => {
  const w = new Float32Array(Array.from({ length: 50 }, (_, i) => Math.sin(i) * 3));
  for (const method of ["MAX_ABS", "ADMM"] as const) {
    const q = quantizeWeights(w, [50], undefined, 7, { method });
    assert.ok(q.data.every((v) => v >= -7 && v <= 7), method);
    assert.ok(new Set(q.data).size > 8, method);
  }
});
