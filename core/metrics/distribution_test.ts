import assert from "node:assert/strict";
import { GrowingHistogram, PairSampler } from "./distribution.ts";

Deno.test("GrowingHistogram: counts stay exact while the range doubles upwards and downwards", () => {
  const h = new GrowingHistogram(4, 0, 4); // bins [0,1) [1,2) [2,3) [3,4)
  h.add(new Float32Array([0.5, 1.5, 2.5, 3.5]));
  assert.deepEqual(h.summary(), { min: 0, max: 4, counts: [1, 1, 1, 1] });
  h.add(new Float32Array([7.5])); // → [0, 8), bins of 2: [0,2) [2,4) [4,6) [6,8)
  assert.deepEqual(h.summary(), { min: 0, max: 8, counts: [2, 2, 0, 1] });
  h.add(new Float32Array([-1])); // → [-8, 8), bins of 4: [-8,-4) [-4,0) [0,4) [4,8)
  assert.deepEqual(h.summary(), { min: -4, max: 8, counts: [1, 4, 1] }); // empty first bin trimmed
});

Deno.test("GrowingHistogram: ignores NaN and infinities, reports the finite extremes, needs even bins", () => {
  const h = new GrowingHistogram(2, 0, 1);
  assert.deepEqual(h.add(new Float32Array([NaN, Infinity, 0.25, -Infinity, 0.75])), { min: 0.25, max: 0.75 });
  assert.deepEqual(h.summary().counts, [1, 1]);
  assert.throws(() => new GrowingHistogram(3, 0, 1), /even bin count/);
});

Deno.test("PairSampler: keeps matching pairs, at most `capacity`, sorted, the same for the same seed", () => {
  const float = new Float32Array(1000).map((_, i) => i);
  const quant = float.map((x) => -x);
  const draw = (seed: number) => {
    const s = new PairSampler(50, 16, seed);
    for (let k = 0; k < 20; k++) s.add(float, quant, k * 50, (k + 1) * 50);
    return s.pairs();
  };
  const a = draw(3);
  assert.equal(a.float.length, 50);
  a.float.forEach((x, i) => assert.equal(a.quantized[i], -x)); // pairs stay together
  assert.deepEqual([...a.float].sort((x, y) => x - y), a.float);
  assert.deepEqual(draw(3), a);
  assert.notDeepEqual(draw(4), a);
  // Every part of the data can be drawn: the sample spans most of it.
  assert.ok(a.float[0]! < 200 && a.float[49]! > 800, `${a.float[0]} … ${a.float[49]}`);
});
