/**
 * Seeded random numbers for the calibrator tests, so every run sees the same data.
 *
 * @module
 */

/**
 * mulberry32: a tiny 32-bit seeded PRNG returning floats in [0, 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mulberry32 } from "./_test_rng.ts";
 * const a = mulberry32(7);
 * const b = mulberry32(7);
 * assert.equal(a(), b());
 * ```
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` samples of uniform[-halfWidth, halfWidth).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mulberry32, uniformSamples } from "./_test_rng.ts";
 * const samples = uniformSamples(mulberry32(1), 100, 2);
 * assert.ok(samples.every((x) => x >= -2 && x <= 2));
 * ```
 */
export function uniformSamples(random: () => number, count: number, halfWidth: number): Float32Array {
  const samples = new Float32Array(count);
  for (let i = 0; i < count; i++) samples[i] = (2 * random() - 1) * halfWidth;
  return samples;
}

/**
 * `count` samples of a Laplace distribution with scale `b` (inverse CDF).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { laplaceSamples, mulberry32 } from "./_test_rng.ts";
 * assert.equal(laplaceSamples(mulberry32(1), 10, 1).length, 10);
 * ```
 */
export function laplaceSamples(random: () => number, count: number, b: number): Float32Array {
  const samples = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const u = random() - 0.5; // [-0.5, 0.5)
    samples[i] = -b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  }
  return samples;
}

/**
 * `count` standard normal samples (Box–Muller).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gaussianSamples, mulberry32 } from "./_test_rng.ts";
 * assert.equal(gaussianSamples(mulberry32(1), 3).length, 3);
 * ```
 */
export function gaussianSamples(random: () => number, count: number): Float32Array {
  const samples = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    samples[i] = radius * Math.cos(2 * Math.PI * random());
  }
  return samples;
}
