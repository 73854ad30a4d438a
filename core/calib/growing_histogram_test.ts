import assert from "node:assert/strict";
import { GrowingAbsHistogram, resampleHistogram } from "./growing_histogram.ts";
import { AbsHistogram, NonFiniteValueError } from "./histogram.ts";
import { wasmKernel } from "./_wasm_kernel.ts";
import { laplaceSamples, mulberry32, uniformSamples } from "./_test_rng.ts";

function rangeOf(values: Float32Array) {
  let min = Infinity, max = -Infinity;
  for (const v of values) [min, max] = [Math.min(min, v), Math.max(max, v)];
  return { min, max };
}

Deno.test("GrowingAbsHistogram: growing equals binning with the final range from the start", () => {
  const random = mulberry32(5);
  const batches = [0.01, 0.5, 3, 0.2, 40, 1].map((scale) => uniformSamples(random, 3000, scale));
  const grown = new GrowingAbsHistogram({ binCount: 256 });
  for (const b of batches) grown.add(b);
  // the same values into a fixed histogram over [0, final edge): identical counts
  const fixed = new AbsHistogram({ binCount: 256, maxAbs: grown.edge });
  for (const b of batches) fixed.add(b);
  assert.equal(grown.edge, 64); // 40 → the next power of two above it
  assert.deepEqual([...grown.counts], [...fixed.counts]);
  assert.equal(grown.count, 18_000);
});

Deno.test("GrowingAbsHistogram: WebAssembly and JavaScript loops, with and without a known range, bin alike", () => {
  assert.ok(wasmKernel() !== null, "WebAssembly SIMD is available in Deno");
  const random = mulberry32(6);
  const batches = [1, 0.3, 7, 2, 1e-9].map((scale) => laplaceSamples(random, 5001, scale));
  for (const b of batches) b[17] = 0; // exact zeros for the dead zone
  for (const deadZone of [undefined, 0, 1e-6]) {
    const dz = deadZone === undefined ? {} : { deadZone };
    const checked = new GrowingAbsHistogram({ binCount: 512, wasm: false, ...dz });
    const fast = new GrowingAbsHistogram({ binCount: 512, wasm: false, ...dz });
    const wasm = new GrowingAbsHistogram({ binCount: 512, ...dz });
    for (const b of batches) {
      checked.add(b);
      fast.add(b, rangeOf(b));
      wasm.add(b);
    }
    assert.deepEqual([...wasm.counts], [...checked.counts]);
    assert.deepEqual([wasm.skipped, wasm.min, wasm.max, wasm.count], [
      checked.skipped,
      checked.min,
      checked.max,
      checked.count,
    ]);
    wasm.release();
    assert.deepEqual([...wasm.counts], [...checked.counts]);
    assert.deepEqual([...fast.counts], [...checked.counts]);
    assert.deepEqual([fast.skipped, fast.min, fast.max, fast.count], [
      checked.skipped,
      checked.min,
      checked.max,
      checked.count,
    ]);
    assert.equal(fast.skipped, deadZone === undefined ? 0 : deadZone === 0 ? 5 : 5005); // the 1e-9 batch is all dead zone
  }
});

Deno.test("GrowingAbsHistogram: all-zero data, then growth from zero", () => {
  const h = new GrowingAbsHistogram({ binCount: 8, deadZone: 0 });
  h.add(new Float32Array(10));
  assert.deepEqual([h.edge, h.skipped, h.count, h.maxAbs], [0, 10, 10, 0]);
  h.add(new Float32Array([0.75, -0.3]));
  assert.equal(h.edge, 1);
  assert.deepEqual([...h.counts], [0, 0, 1, 0, 0, 0, 1, 0]);
  assert.equal(h.skipped, 10);
});

Deno.test("GrowingAbsHistogram: NaN or ±Inf throws with its index and leaves the histogram unchanged", () => {
  for (const [bad, wasm] of [[NaN, true], [Infinity, true], [-Infinity, false], [NaN, false]] as const) {
    const h = new GrowingAbsHistogram({ binCount: 16, wasm });
    h.add(new Float32Array([0.5, 1]));
    const before = [...h.counts];
    for (const at of [2, 21, 36]) { // in the SIMD body and in the scalar tail
      const values = new Float32Array(37).fill(0.25);
      values[at] = bad;
      values[at + 1 < 37 ? at + 1 : 0] = 3;
      assert.throws(() => h.add(values), (e: unknown) => e instanceof NonFiniteValueError && e.index === at);
    }
    assert.deepEqual([...h.counts], before);
    assert.equal(h.count, 2);
  }
});

Deno.test("GrowingAbsHistogram: binCount must be a power of two", () => {
  for (const binCount of [0, 1, 3, 1000, 2.5]) {
    assert.throws(() => new GrowingAbsHistogram({ binCount }), RangeError);
  }
});

Deno.test("resampleHistogram: keeps the total and splits bins by overlap", () => {
  const counts = new Float64Array([4, 0, 8, 2]); // bins of width 0.5 over [0, 2)
  const out = resampleHistogram(counts, 0.5, 3, 1.5); // bins of 0.5 over [0, 1.5]; the last takes the rest
  assert.deepEqual([...out], [4, 0, 10]);
  const fine = resampleHistogram(counts, 0.5, 8, 2);
  assert.deepEqual([...fine], [2, 2, 0, 0, 4, 4, 1, 1]);
  assert.equal(fine.reduce((a, b) => a + b), 14);
});
