// Every C kernel against the integer interpreter on the odd-shape single-op programs of
// core/sim/_op_cases_test_util.ts (1×1, stride 2, padding, dilation, groups, depthwise, channels not a
// multiple of 4, broadcasting, uint8 zero points), byte for byte, on x86-64, aarch64 and armv7.
import assert from "node:assert/strict";
import { runProgram } from "../core/sim/interpreter.ts";
import { opCases } from "../core/sim/_op_cases_test_util.ts";
import type { TensorArray } from "../core/sim/program.ts";
import { writeArtifact } from "../targets/native/writer.ts";
import { buildRuntime, runArtifact, type RuntimeArch } from "../targets/native/runtime.ts";

const bytes = (a: TensorArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

for (const arch of ["host", "aarch64", "armv7"] as RuntimeArch[]) {
  Deno.test(`C kernels on ${arch} equal the interpreter on every odd-shape op case`, async (t) => {
    const runner = await buildRuntime(arch);
    for (const c of opCases(23)) {
      await t.step(c.name, async () => {
        const expected = bytes(runProgram(c.program, c.inputs)[0]!);
        const sample = new Uint8Array(c.inputs.reduce((n, x) => n + x.byteLength, 0));
        let at = 0;
        for (const x of c.inputs) {
          sample.set(bytes(x), at);
          at += x.byteLength;
        }
        const [got] = await runArtifact(arch, runner, writeArtifact(c.program), [sample]);
        assert.deepEqual(got, expected);
      });
    }
  });
}
