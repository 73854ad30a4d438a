import assert from "node:assert/strict";
import { activationParams, clampForBits, roundHalfAway } from "./params.ts";

Deno.test("activationParams: symmetric int8 uses threshold / clamp and zero point 0", () => {
  const p = activationParams(
    { min: -3, max: 3, threshold: 2.54, observedMin: -4, observedMax: 4 },
    "symmetric-int8",
    127,
  );
  assert.equal(p.scale, 0.02);
  assert.deepEqual([p.zeroPoint, p.qmin, p.qmax, p.dataType], [0, -127, 127, 3]);
  const clamped = activationParams({ min: -1.2, max: 1.2, observedMin: -1.2, observedMax: 1.2 }, "symmetric-int8", 120);
  assert.equal(clamped.scale, 0.01);
});

Deno.test("activationParams: asymmetric uint8 widens to include 0 and rounds the zero point", () => {
  const p = activationParams({ min: -1, max: 3, observedMin: -1, observedMax: 3 }, "asymmetric-uint8", 127);
  assert.equal(p.scale, 4 / 255);
  assert.equal(p.zeroPoint, 64); // round(1 / (4/255)) = round(63.75)
  const relu = activationParams({ min: 0.5, max: 2, observedMin: 0.5, observedMax: 2 }, "asymmetric-uint8", 127);
  assert.equal(relu.zeroPoint, 0);
  assert.equal(relu.scale, 2 / 255);
});

Deno.test("activationParams: an all-zero tensor still gets a positive scale", () => {
  const p = activationParams({ min: 0, max: 0, threshold: 0, observedMin: 0, observedMax: 0 }, "symmetric-int8", 127);
  assert.ok(p.scale > 0);
});

Deno.test("roundHalfAway: ties go away from zero", () => {
  assert.deepEqual([2.5, -2.5, 0.5, -0.5, 1.4, -1.6].map(roundHalfAway), [3, -3, 1, -1, 1, -2]);
});

Deno.test("activationParams: bits lower the clamp; int16 uses 32767; asymmetric keeps the observed side", () => {
  const range = { min: -2.54, max: 2.54, threshold: 2.54, observedMin: 0, observedMax: 3 };
  const four = activationParams(range, "symmetric-int8", 127, { bits: 4 });
  assert.deepEqual([four.qmin, four.qmax, four.scale], [-7, 7, 2.54 / 7]);
  const wide = activationParams(range, "symmetric-int8", 127, { int16: true });
  assert.deepEqual([wide.qmin, wide.qmax, wide.dataType, wide.scale], [-32767, 32767, 5, 2.54 / 32767]);
  const asym = activationParams(range, "asymmetric-uint8", 127, { bits: 6 });
  assert.deepEqual([asym.qmin, asym.qmax, asym.zeroPoint, asym.scale], [0, 63, 0, 2.54 / 63]); // [0, T]: a ReLU output
  assert.throws(() => activationParams(range, "symmetric-int8", 127, { bits: 9 }), RangeError);
  assert.equal(clampForBits(120, 8), 120);
});
