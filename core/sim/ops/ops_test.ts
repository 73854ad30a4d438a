// Every kernel against its float reference on odd shapes: equal, except where the float reference lies
// within 1e-6 of a rounding tie (there the fixed-point multiplier, < 2^-30 off, may pick the other side),
// and within the case's tolerance for approximating kernels (Softmax: one output step).
import assert from "node:assert/strict";
import { runProgram } from "../interpreter.ts";
import { opCases } from "../_op_cases_test_util.ts";

for (const c of opCases(11)) {
  Deno.test(`sim ${c.name}: equals the float reference rounded half away from zero${c.tolerance ? ` (± ${c.tolerance} step)` : ""}`, () => {
    const got = Array.from(runProgram(c.program, c.inputs)[0]! as ArrayLike<number>);
    assert.equal(got.length, c.expected.length);
    got.forEach((v, i) => {
      const slack = Math.max(c.nearTie[i] ? 1 : 0, c.tolerance ?? 0);
      assert.ok(Math.abs(v - c.expected[i]!) <= slack, `element ${i}: ${v} vs ${c.expected[i]}`);
    });
  });
}
