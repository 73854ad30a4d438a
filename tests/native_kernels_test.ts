// Every C kernel against the integer interpreter on the odd-shape single-op programs of
// core/sim/_op_cases_test_util.ts (1×1, stride 2, padding, dilation, groups, depthwise, channels not a
// multiple of 4, broadcasting, uint8 zero points), byte for byte, on x86-64, aarch64 and armv7, with every
// kernel path the runtime chooses at compile time (runtime/src/ops/simd.h): AVX2 (host, -march=native on an
// AVX2 machine), SSE4.1, NEON (aarch64; armv7 with -mfpu=neon) and portable C.
import assert from "node:assert/strict";
import { runProgram } from "../core/sim/interpreter.ts";
import { opCases } from "../core/sim/_op_cases_test_util.ts";
import type { TensorArray } from "../core/sim/program.ts";
import { writeArtifact } from "../targets/native/writer.ts";
import {
  buildRuntime,
  runArtifact,
  runRunner,
  type RuntimeArch,
  type RuntimeVariant,
} from "../targets/native/runtime.ts";

const bytes = (a: TensorArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

const BUILDS: { arch: RuntimeArch; variant?: RuntimeVariant; kernels: string[] }[] = [
  { arch: "host", kernels: ["avx2", "sse4.1", "portable"] },
  { arch: "host", variant: { name: "sse41", archFlags: "-msse4.1" }, kernels: ["sse4.1"] },
  { arch: "host", variant: { name: "portable", archFlags: "-DQM_PORTABLE" }, kernels: ["portable"] },
  { arch: "aarch64", kernels: ["neon"] },
  { arch: "armv7", kernels: ["portable"] },
  { arch: "armv7", variant: { name: "neon", archFlags: "-mfpu=neon" }, kernels: ["neon"] },
];

for (const { arch, variant, kernels } of BUILDS) {
  const label = variant ? `${arch} (${variant.archFlags})` : arch;
  Deno.test(`C kernels on ${label} equal the interpreter on every odd-shape op case`, async (t) => {
    const runner = await buildRuntime(arch, variant);
    const built = (await runRunner(arch, runner, ["--kernels"])).stdout.trim();
    assert.ok(kernels.includes(built), `${label} built ${built} kernels, expected one of ${kernels}`);
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
