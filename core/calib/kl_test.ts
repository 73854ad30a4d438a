import assert from "node:assert/strict";
import { exactKlDivergence, KlSearch } from "./_kl_search.ts";
import { AbsHistogram, NonFiniteValueError } from "./histogram.ts";
import { KlCalibrator, klThresholdBin } from "./kl.ts";
import { gaussianSamples, laplaceSamples, mulberry32 } from "./_test_rng.ts";

/**
 * The plain, slow reading of MNN's divergence for candidate `i`, written from the definition:
 * every source bin k covers [k, k + 1); target bin j covers [j·w, (j + 1)·w) with w = i / targetBins,
 * and how much of k falls in j is the length of their intersection.
 */
function referenceKl(d: readonly number[], targetBins: number, i: number): number {
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  const w = i / targetBins;
  const overlap = (k: number, j: number) => Math.max(0, Math.min(k + 1, (j + 1) * w) - Math.max(k, j * w));
  const near = (j: number) => { // the source bins that can overlap target bin j
    const ks: number[] = [];
    for (let k = Math.floor(j * w); k < Math.min(i, Math.ceil((j + 1) * w)); k++) ks.push(k);
    return ks;
  };
  const p = d.slice(0, i);
  p[i - 1] = p[i - 1]! + sum(d.slice(i));
  const q = new Array(i).fill(0);
  for (let j = 0; j < targetBins; j++) {
    const ks = near(j);
    const merged = sum(ks.map((k) => overlap(k, j) * d[k]!));
    const support = sum(ks.filter((k) => d[k] !== 0).map((k) => overlap(k, j)));
    if (support === 0) continue;
    for (const k of ks) if (d[k] !== 0) q[k] += (merged * overlap(k, j)) / support;
  }
  let kl = 0;
  for (let k = 0; k < i; k++) {
    if (p[k] === 0) continue;
    kl += q[k] === 0 ? 1 : p[k]! * Math.log(p[k]! / q[k]);
  }
  return kl;
}

/** MNN's search over {@link referenceKl}: the least divergence, ties to the lower bin, below 10000. */
function referenceKlThresholdBin(d: readonly number[], targetBins: number): number {
  let bestBin = targetBins;
  let bestKl = 10000;
  for (let i = targetBins; i < d.length; i++) {
    const kl = referenceKl(d, targetBins, i);
    if (kl < bestKl) {
      bestKl = kl;
      bestBin = i;
    }
  }
  return bestBin;
}

/** MNN's search with MNN's arithmetic for every candidate — what kl.ts did before pruning — and every divergence. */
function exhaustiveSearch(d: Float64Array, targetBins: number): { bin: number; divergences: Float64Array } {
  const divergences = new Float64Array(d.length).fill(NaN);
  let bin = targetBins;
  let bestKl = 10000;
  for (let i = targetBins; i < d.length; i++) {
    divergences[i] = exactKlDivergence(d, targetBins, i);
    if (divergences[i]! < bestKl) {
      bestKl = divergences[i]!;
      bin = i;
    }
  }
  return { bin, divergences };
}

/**
 * A normalized |x| histogram as KlCalibrator builds one, from Laplacian, Gaussian or ReLU'd Gaussian
 * samples (300 to 100k of them) with up to 5 outliers at 4–64× the scale; with MNN's 1e-7 floor per
 * bin, or without it so that sparse tails keep empty bins.
 */
function realisticDistribution(random: () => number, binCount: number, trial: number): Float64Array {
  const count = 300 + Math.floor(random() ** 2 * 100_000);
  const scale = 0.05 + 4 * random();
  const kind = trial % 3;
  let values = kind === 0 ? laplaceSamples(random, count, scale) : gaussianSamples(random, count).map((x) => x * scale);
  if (kind === 2) values = values.map((x) => Math.max(0, x));
  const outliers = Math.floor(random() * 6);
  for (let o = 0; o < outliers; o++) {
    values[Math.floor(random() * count)] = (random() < 0.5 ? -1 : 1) * scale * (4 + 60 * random());
  }
  let maxAbs = 0;
  for (const x of values) maxAbs = Math.max(maxAbs, Math.abs(x));
  const histogram = new AbsHistogram({ binCount, maxAbs, deadZone: 1e-6 });
  histogram.add(values);
  const floor = Math.floor(trial / 3) % 2 === 0 ? 1e-7 : 0;
  const distribution = histogram.counts.map((c) => c + floor);
  const total = distribution.reduce((a, b) => a + b, 0);
  return distribution.map((x) => x / total);
}

/** MNN's histogram for `values` over |x| in [0, maxAbs], built one value at a time. */
function referenceDistribution(values: Float32Array, maxAbs: number): number[] {
  const interval = Math.fround(2048 / maxAbs);
  const counts = new Array(2048).fill(1e-7);
  for (const x of values) {
    if (Math.abs(x) <= 1e-6) continue;
    counts[Math.min(Math.floor(Math.fround(Math.abs(x) * interval)), 2047)] += 1;
  }
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => c / total);
}

function calibrate(values: Float32Array, shape: readonly number[] = [1, 1, 256, 256]) {
  const calibrator = new KlCalibrator({ clamp: 127, shape });
  calibrator.observe(0, values);
  calibrator.observe(1, values);
  return calibrator.range();
}

function quantileAbs(values: Float32Array, q: number): number {
  const sorted = Float64Array.from(values, Math.abs).sort();
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

Deno.test("klThresholdBin: hand case — clipping just above the bulk beats keeping a far outlier", () => {
  const d = [0.16, 0.16, 0.16, 0.16, 0.16, 0.16, 0, 0, 0, 0, 0, 0.04];
  assert.equal(referenceKlThresholdBin(d, 2), 6);
  assert.equal(klThresholdBin(new Float64Array(d), 2), 6);
});

Deno.test("klThresholdBin: hand case — a zero bin before the tail takes the +1 penalty", () => {
  // By hand, 2 target bins:
  //   i=2: P=[.5,.5]            Q=[.5,.2]               KL = .5·ln(.5/.2)                          ≈ 0.458
  //   i=3: P=[.5,.2,.3]         Q=[.4,.267,.133]        KL ≈ .112 − .058 + .243                    ≈ 0.297
  //   i=4: P=[.5,.2,.1,.2]      Q=[.35,.35,.1,0]        KL ≈ .178 − .112 + 0 + 1 (Q=0 where P≠0)   ≈ 1.066
  //   i=5: P=[.5,.2,.1,0,.2]    Q=[.3,.3,.2,0,.1]       KL ≈ .255 − .081 − .069 + .139             ≈ 0.244
  const d = [0.5, 0.2, 0.1, 0, 0.1, 0.1];
  assert.equal(referenceKlThresholdBin(d, 2), 5);
  assert.equal(klThresholdBin(new Float64Array(d), 2), 5);
});

Deno.test("klThresholdBin: matches the plain reimplementation on random histograms with empty bins", () => {
  const random = mulberry32(2024);
  for (let trial = 0; trial < 200; trial++) {
    const targetBins = [1, 2, 4, 8][trial % 4]!;
    const binCount = targetBins + 1 + Math.floor(random() * 40);
    const d = Array.from({ length: binCount }, () => (random() < 0.3 ? 0 : random() ** 3));
    const total = d.reduce((a, b) => a + b, 0) || 1;
    const normalized = d.map((x) => x / total);
    assert.equal(
      klThresholdBin(new Float64Array(normalized), targetBins),
      referenceKlThresholdBin(normalized, targetBins),
      `trial ${trial}: ${binCount} bins, ${targetBins} target bins`,
    );
  }
});

Deno.test("exactKlDivergence: equals the plain reimplementation for every candidate", () => {
  const random = mulberry32(31);
  for (let trial = 0; trial < 60; trial++) {
    const targetBins = [1, 2, 3, 5, 8][trial % 5]!;
    const binCount = targetBins + 1 + Math.floor(random() * 40);
    const d = Array.from({ length: binCount }, () => (random() < 0.3 ? 0 : random() ** 3));
    for (let i = targetBins; i < binCount; i++) {
      const reference = referenceKl(d, targetBins, i);
      const exact = exactKlDivergence(new Float64Array(d), targetBins, i);
      assert.ok(Math.abs(exact - reference) <= 1e-12 * Math.abs(reference) + 1e-15, `trial ${trial}, i ${i}`);
    }
  }
});

Deno.test("klThresholdBin: target bins that are not a power of two match the plain reimplementation", () => {
  const random = mulberry32(77);
  for (let trial = 0; trial < 120; trial++) {
    const targetBins = [3, 5, 6, 7, 12][trial % 5]!;
    const binCount = targetBins + 1 + Math.floor(random() * 60);
    const d = Array.from({ length: binCount }, () => (random() < 0.3 ? 0 : random() ** 3));
    const total = d.reduce((a, b) => a + b, 0) || 1;
    const normalized = d.map((x) => x / total);
    assert.equal(
      klThresholdBin(new Float64Array(normalized), targetBins),
      referenceKlThresholdBin(normalized, targetBins),
      `trial ${trial}: ${binCount} bins, ${targetBins} target bins`,
    );
  }
});

Deno.test("klThresholdBin: 300 realistic histograms — same bin as MNN's arithmetic on every candidate", () => {
  const random = mulberry32(4242);
  // [bins, target bins]: MNN's 2048/128 and smaller ones at the same ratio; 768/48 takes the non-power-of-two path
  const sizes = [[2048, 128], [1024, 64], [768, 48], [512, 32], [512, 32], [256, 16]] as const;
  for (let trial = 0; trial < 300; trial++) {
    const [binCount, targetBins] = trial < 10 ? sizes[0] : sizes[1 + (trial % 5)]!;
    const d = realisticDistribution(random, binCount, trial);
    const { bin, divergences } = exhaustiveSearch(d, targetBins);
    assert.equal(klThresholdBin(d, targetBins), bin, `trial ${trial}: ${binCount} bins`);
    const search = new KlSearch(d, targetBins);
    assert.ok(search.reliable);
    for (let i = targetBins; i < binCount; i++) {
      const exact = divergences[i]!;
      const fast = search.divergence(i);
      assert.ok(
        Math.abs(fast - exact) <= 1e-9 * Math.abs(exact) + 1e-15,
        `trial ${trial}, i ${i}: ${fast} vs ${exact}`,
      );
      assert.ok(Math.abs(fast - exact) <= search.errorBound, `trial ${trial}, i ${i}: beyond errorBound`);
      assert.ok(search.lowerBound(i) <= exact + search.errorBound, `trial ${trial}, i ${i}: lower bound above`);
    }
  }
});

Deno.test("klThresholdBin: negative, non-finite or vanishing bins fall back to MNN's arithmetic throughout", () => {
  const random = mulberry32(3);
  const base = realisticDistribution(random, 512, 0);
  const cases = [[7, -1e-4], [300, NaN], [9, Infinity], [400, 1e-300]] as const;
  for (const [index, value] of cases) {
    const d = base.slice();
    d[index] = value;
    assert.equal(new KlSearch(d, 32).reliable, false, `d[${index}] = ${value}`);
    assert.equal(klThresholdBin(d, 32), exhaustiveSearch(d, 32).bin, `d[${index}] = ${value}`);
  }
});

Deno.test("klThresholdBin: rejects too few bins", () => {
  assert.throws(() => klThresholdBin(new Float64Array(4), 4), RangeError);
  assert.throws(() => klThresholdBin(new Float64Array(4), 0), RangeError);
});

Deno.test("KL: full-size result equals the plain reimplementation of MNN's histogram and search", () => {
  const values = laplaceSamples(mulberry32(5), 20_000, 0.5);
  values[7] = 9;
  const range = calibrate(values);
  let maxAbs = 0;
  for (const x of values) maxAbs = Math.max(maxAbs, Math.abs(x));
  const bin = referenceKlThresholdBin(referenceDistribution(values, maxAbs), 128);
  assert.equal(range.rule, "KL");
  assert.equal(range.thresholdBin, bin);
  assert.equal(range.threshold, (bin + 0.5) / Math.fround(2048 / maxAbs));
  assert.deepEqual([range.min, range.max], [-range.threshold, range.threshold]);
});

Deno.test("KL: Laplacian and Gaussian with a few large outliers clip well below max, above the 99th percentile", () => {
  const random = mulberry32(99);
  for (
    const [name, values] of [["laplace", laplaceSamples(random, 200_000, 1)], [
      "gauss",
      gaussianSamples(random, 200_000),
    ]] as const
  ) {
    for (let k = 0; k < 5; k++) values[k * 1000] = k % 2 ? -60 : 60;
    const range = calibrate(values);
    const p99 = quantileAbs(values, 0.99);
    assert.equal(range.rule, "KL", name);
    assert.ok(range.threshold < 60 / 3, `${name}: threshold ${range.threshold} should be far below 60`);
    assert.ok(range.threshold > p99, `${name}: threshold ${range.threshold} should exceed p99 ${p99}`);
    assert.deepEqual([range.observedMin, range.observedMax], [-60, 60]);
  }
});

Deno.test("KL: data split across observe() calls gives the same range as one call", () => {
  const values = laplaceSamples(mulberry32(8), 30_000, 2);
  const whole = calibrate(values);
  const parts = new KlCalibrator({ clamp: 127, shape: [1, 1, 256, 256] });
  for (const pass of [0, 1]) {
    for (let start = 0; start < values.length; start += 4096) parts.observe(pass, values.subarray(start, start + 4096));
  }
  assert.deepEqual(parts.range(), whole);
});

Deno.test("KL: exact zeros (e.g. after ReLU) do not move the threshold — MNN skips |x| <= 1e-6", () => {
  const values = laplaceSamples(mulberry32(12), 10_000, 1);
  const withZeros = new Float32Array(values.length * 3);
  withZeros.set(values);
  withZeros.fill(1e-7, values.length, values.length + 10); // in the dead zone too
  assert.equal(calibrate(withZeros).threshold, calibrate(values).threshold);
});

Deno.test("KL: an all-zero tensor falls back to max |x| = 0 without NaN", () => {
  const range = calibrate(new Float32Array(4096));
  assert.equal(range.rule, "MAX_NEAR_ZERO");
  assert.deepEqual([range.min, range.max, range.threshold], [-0, 0, 0]);
  assert.equal(range.thresholdBin, undefined);
});

Deno.test("KL: max |x| <= 1e-5 (invalid in MNN) falls back to max |x|", () => {
  const values = new Float32Array(4096).fill(-4e-6);
  values[9] = 8e-6;
  const range = calibrate(values);
  assert.equal(range.rule, "MAX_NEAR_ZERO");
  assert.equal(range.threshold, Math.fround(8e-6));
});

Deno.test("KL: height × width < 100 uses MNN's THRESHOLD_MAX, bin 2047, without a second pass", () => {
  const values = laplaceSamples(mulberry32(6), 8 * 9 * 11, 1);
  values[3] = 50;
  const calibrator = new KlCalibrator({ clamp: 127, shape: [1, 8, 9, 11] });
  calibrator.observe(0, values);
  const range = calibrator.range();
  assert.equal(calibrator.smallTensor, true);
  assert.equal(range.rule, "MAX_SMALL_TENSOR");
  assert.equal(range.thresholdBin, 2047);
  assert.equal(range.threshold, 2047.5 / Math.fround(2048 / 50));
  assert.ok(range.threshold < 50 && range.threshold > 49.98);
});

Deno.test("KL: rank < 4 counts as small (MNN reads the missing height and width as 0)", () => {
  assert.equal(new KlCalibrator({ clamp: 127, shape: [1, 1000] }).smallTensor, true);
  assert.equal(new KlCalibrator({ clamp: 127, shape: [1, 3, 10, 10] }).smallTensor, false);
  assert.equal(new KlCalibrator({ clamp: 127 }).smallTensor, false);
});

Deno.test("KL: NaN or ±Infinity in either pass throws NonFiniteValueError", () => {
  const clean = laplaceSamples(mulberry32(1), 1000, 1);
  for (const pass of [0, 1]) {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const calibrator = new KlCalibrator({ clamp: 127 });
      if (pass === 1) calibrator.observe(0, clean);
      const values = clean.slice();
      values[500] = bad;
      assert.throws(() => calibrator.observe(pass, values), (error: unknown) => {
        assert.ok(error instanceof NonFiniteValueError);
        assert.equal(error.index, 500);
        assert.match(error.message, /NaN|Inf/);
        return true;
      });
    }
  }
});

Deno.test("KL: passes must come in order and both are needed for a normal tensor", () => {
  const values = laplaceSamples(mulberry32(2), 1000, 1);
  const calibrator = new KlCalibrator({ clamp: 127 });
  assert.throws(() => calibrator.range(), /pass 0 observed no values/);
  assert.throws(() => calibrator.observe(1, values), /pass 0 observed no values/);
  calibrator.observe(0, values);
  assert.throws(() => calibrator.range(), /pass 1 observed no values/);
  calibrator.observe(1, values);
  assert.throws(() => calibrator.observe(0, values), /pass 1 has already begun/);
  assert.throws(() => calibrator.observe(2, values), RangeError);
  assert.equal(calibrator.range().rule, "KL");
});
