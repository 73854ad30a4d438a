import assert from "node:assert/strict";
import { quantizeMultiplier, quantizeMultiplierPair, requantize, roundHalfAway, roundingShift } from "./fixed_point.ts";
import { mulberry32 } from "../calib/_test_rng.ts";

function exact(acc: number, multiplier: number, shift: number): number {
  const p = BigInt(acc) * BigInt(multiplier);
  const half = 1n << BigInt(shift - 1);
  const r = p >= 0n ? (p + half) >> BigInt(shift) : -((-p + half) >> BigInt(shift));
  return Number(r);
}

Deno.test("requantize equals the exact 64-bit rounding on random and extreme operands", () => {
  const rng = mulberry32(7);
  const accs = [0, 1, -1, 2147483647, -2147483648, 65535, -65536, 3, -3];
  for (let i = 0; i < 20000; i++) accs.push(Math.floor((rng() - 0.5) * 2 ** (1 + Math.floor(rng() * 32))));
  for (const acc of accs) {
    const multiplier = Math.floor(rng() * 2 ** 31);
    const shift = 17 + Math.floor(rng() * 46);
    assert.equal(requantize(acc, multiplier, shift), exact(acc, multiplier, shift), `${acc} ${multiplier} ${shift}`);
  }
  // Ties round away from zero.
  assert.equal(requantize(3, 2 ** 30, 32), 1); // 0.75 → 1
  assert.equal(requantize(2, 2 ** 30, 32), 1); // 0.5 → 1
  assert.equal(requantize(-2, 2 ** 30, 32), -1);
  assert.equal(requantize(1, 2 ** 30, 32), 0); // 0.25 → 0
});

Deno.test("quantizeMultiplier keeps 31 significant bits and round-trips within 2^-30", () => {
  const rng = mulberry32(3);
  for (let i = 0; i < 2000; i++) {
    const real = 2 ** (rng() * 44 - 30);
    const { multiplier, shift } = quantizeMultiplier(real);
    assert.ok(multiplier >= 2 ** 30 && multiplier < 2 ** 31, `${real}: ${multiplier}`);
    assert.ok(shift >= 17 && shift <= 62);
    assert.ok(Math.abs(multiplier / 2 ** shift - real) / real < 2 ** -30);
  }
  assert.deepEqual(quantizeMultiplier(0), { multiplier: 0, shift: 31 });
  assert.throws(() => quantizeMultiplier(2 ** 14), /too large/);
  assert.throws(() => quantizeMultiplier(-1), /Cannot encode/);
});

Deno.test("roundingShift and the multiplier pair round half away from zero", () => {
  assert.deepEqual([roundingShift(2, 2), roundingShift(-2, 2), roundingShift(1, 2)], [1, -1, 0]);
  assert.equal(roundingShift(2 ** 40, 60), 0);
  const p = quantizeMultiplierPair(0.3, 1.7);
  assert.ok(p.multiplierB < 2 ** 31 && p.multiplierB >= 2 ** 30);
  assert.ok(Math.abs(p.multiplierA / 2 ** p.shift - 0.3) < 1e-8);
  assert.equal(roundHalfAway(-0.5), -1);
});
