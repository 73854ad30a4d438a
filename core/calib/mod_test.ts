import assert from "node:assert/strict";
import { calibrators, createCalibrator, KlCalibrator, MinMaxCalibrator } from "./mod.ts";

Deno.test("createCalibrator: looks names up case-insensitively, MAX_ABS is MINMAX", () => {
  assert.ok(createCalibrator("KL", { clamp: 127 }) instanceof KlCalibrator);
  assert.ok(createCalibrator("kl", { clamp: 127 }) instanceof KlCalibrator);
  assert.ok(createCalibrator("MinMax", { clamp: 127 }) instanceof MinMaxCalibrator);
  assert.ok(createCalibrator("max_abs", { clamp: 127 }) instanceof MinMaxCalibrator);
});

Deno.test("createCalibrator: an unknown name lists the known ones", () => {
  assert.throws(() => createCalibrator("X", { clamp: 127 }), {
    message: 'Unknown calibration method "X"; known: ADMM, EMA, KL, MAX_ABS, MINMAX, MSE, PERCENTILE',
  });
  for (const name of ["", "__proto__", "constructor", "toString"]) {
    assert.throws(() => createCalibrator(name, { clamp: 127 }), /Unknown calibration method/);
  }
});

Deno.test("calibrators: every entry builds a fresh, working calibrator", () => {
  for (const [name, factory] of Object.entries(calibrators)) {
    assert.equal(name, name.toUpperCase());
    const a = factory({ clamp: 127, shape: [1, 1, 16, 16] });
    const b = factory({ clamp: 127, shape: [1, 1, 16, 16] });
    assert.notEqual(a, b);
    const values = new Float32Array(256).map((_, i) => Math.sin(i));
    for (let pass = 0; pass < a.passes; pass++) a.observe(pass, values);
    const range = a.range();
    assert.ok(Number.isFinite(range.min) && Number.isFinite(range.max), name);
  }
});
