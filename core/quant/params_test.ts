import assert from "node:assert/strict";
import { activationParams, roundHalfAway } from "./params.ts";

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
