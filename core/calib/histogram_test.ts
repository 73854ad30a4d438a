import assert from "node:assert/strict";
import { AbsHistogram, NonFiniteValueError } from "./histogram.ts";
import { mulberry32, uniformSamples } from "./_test_rng.ts";

Deno.test("AbsHistogram: bins |x|, clamps above maxAbs into the last bin, tracks min/max/count", () => {
  const histogram = new AbsHistogram({ binCount: 4, maxAbs: 4 });
  histogram.add(new Float32Array([0, -0.5, 1, -1.5, 2.5, 3.999, 4, -9]));
  assert.deepEqual([...histogram.counts], [2, 2, 1, 3]);
  assert.equal(histogram.min, -9);
  assert.equal(histogram.max, 4);
  assert.equal(histogram.count, 8);
  assert.equal(histogram.skipped, 0);
});

Deno.test("AbsHistogram: the dead zone leaves out small |x| but counts it", () => {
  const histogram = new AbsHistogram({ binCount: 4, maxAbs: 4, deadZone: 1e-6 });
  histogram.add(new Float32Array([0, -0, 1e-7, -1e-6, 2e-6, 0.5]));
  assert.deepEqual([...histogram.counts], [2, 0, 0, 0]);
  assert.equal(histogram.skipped, 4);
  assert.equal(histogram.count, 6);
});

Deno.test("AbsHistogram: the bin index is the float32 product, as MNN computes it", () => {
  // binsPerUnit = float32(2048 / 3) = 682.666687…; 0.0073242182… × that is 4.99999983 in float64
  // but rounds to 5 in float32, so MNN puts it in bin 5
  const histogram = new AbsHistogram({ binCount: 2048, maxAbs: 3 });
  const value = new Float32Array([0.007324218284338713]);
  assert.equal(Math.floor(value[0]! * histogram.binsPerUnit), 4);
  histogram.add(value);
  assert.equal(histogram.counts[5], 1);
});

Deno.test("AbsHistogram: several add() calls equal one", () => {
  const data = uniformSamples(mulberry32(11), 10_000, 3);
  const whole = new AbsHistogram({ binCount: 64, maxAbs: 3, deadZone: 1e-6 });
  whole.add(data);
  const parts = new AbsHistogram({ binCount: 64, maxAbs: 3, deadZone: 1e-6 });
  for (let start = 0; start < data.length; start += 777) parts.add(data.subarray(start, start + 777));
  assert.deepEqual(parts.counts, whole.counts);
  assert.deepEqual([parts.min, parts.max, parts.count, parts.skipped], [
    whole.min,
    whole.max,
    whole.count,
    whole.skipped,
  ]);
});

Deno.test("AbsHistogram: counts stay exact past 2^24 in one bin (MNN's float counts stop there)", () => {
  const histogram = new AbsHistogram({ binCount: 2, maxAbs: 1 });
  const batch = new Float32Array(1 << 20).fill(0.25);
  for (let i = 0; i < 17; i++) histogram.add(batch);
  assert.equal(histogram.counts[0], 17 * (1 << 20));
  assert.ok(histogram.counts[0]! > 2 ** 24);
});

Deno.test("AbsHistogram: NaN and ±Infinity throw NonFiniteValueError with value and index", () => {
  const cases: [number, RegExp][] = [[NaN, /NaN/], [Infinity, /Inf/], [-Infinity, /Inf/]];
  for (const [bad, message] of cases) {
    const values = new Float32Array([0.5, -1, 0.25, 0.125]);
    values[2] = bad;
    const histogram = new AbsHistogram({ binCount: 8, maxAbs: 1 });
    assert.throws(() => histogram.add(values), (error: unknown) => {
      assert.ok(error instanceof NonFiniteValueError);
      assert.equal(error.index, 2);
      assert.ok(Object.is(error.value, bad));
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("AbsHistogram: rejects a bad bin count or range", () => {
  assert.throws(() => new AbsHistogram({ binCount: 0, maxAbs: 1 }), RangeError);
  assert.throws(() => new AbsHistogram({ binCount: 2.5, maxAbs: 1 }), RangeError);
  assert.throws(() => new AbsHistogram({ binCount: 8, maxAbs: 0 }), RangeError);
  assert.throws(() => new AbsHistogram({ binCount: 8, maxAbs: NaN }), RangeError);
  assert.throws(() => new AbsHistogram({ binCount: 8, maxAbs: Infinity }), RangeError);
});

Deno.test("AbsHistogram: an empty batch changes nothing", () => {
  const histogram = new AbsHistogram({ binCount: 8, maxAbs: 1 });
  histogram.add(new Float32Array(0));
  assert.equal(histogram.count, 0);
  assert.equal(histogram.min, Infinity);
  assert.deepEqual([...histogram.counts], new Array(8).fill(0));
});

Deno.test("AbsHistogram: the WebAssembly kernel bins exactly like the JavaScript loop (float32 products, dead zone)", () => {
  const random = mulberry32(13);
  const data = uniformSamples(random, 20_003, 3);
  for (let i = 0; i < data.length; i += 7) data[i] = 0;
  data[100] = 0.007324218284338713; // float32 product rounds up to the next bin (see above)
  data[101] = 1e-6;
  data[102] = -Math.fround(1e-6);
  // far beyond maxAbs: bin positions past 2^31 and 2^32 still clamp into the last bin
  [data[103], data[104], data[105], data[106]] = [4.5e6, -7e6, 1e30, -3.4e38];
  for (const deadZone of [undefined, 1e-6]) {
    const options = { binCount: 2048, maxAbs: 3, ...(deadZone === undefined ? {} : { deadZone }) };
    const js = new AbsHistogram({ ...options, wasm: false });
    const wasm = new AbsHistogram(options);
    js.add(data);
    wasm.add(data);
    assert.deepEqual([...wasm.counts], [...js.counts]);
    assert.deepEqual([wasm.skipped, wasm.min, wasm.max, wasm.count], [js.skipped, js.min, js.max, js.count]);
  }
  const bad = data.slice();
  bad[15_000] = Infinity;
  assert.throws(() => new AbsHistogram({ binCount: 16, maxAbs: 1 }).add(bad), (e: unknown) => {
    return e instanceof NonFiniteValueError && e.index === 15_000;
  });
});
