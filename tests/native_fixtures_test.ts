// The Fashion-MNIST fixtures compiled to the native artifact: the integer interpreter against the float
// model in ONNX Runtime on held-out test images, and the C runtime against the interpreter, byte for
// byte, on x86-64 and (static builds under qemu-user) aarch64 and armv7.
import assert from "node:assert/strict";
import { encodeModel } from "../core/onnx/model.ts";
import { readIdxImages, readIdxLabels } from "../cli/idx.ts";
import { idxSource } from "../cli/source.ts";
import { FMNIST_DIR } from "../bench/fixtures.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { evaluateProgram } from "../targets/native/evaluate.ts";
import { buildRuntime, runArtifact, type RuntimeArch } from "../targets/native/runtime.ts";
import { goldenSamples, NATIVE_FIXTURES, nativeFixture } from "./_native_fixtures.ts";

const images = await readIdxImages(`${FMNIST_DIR}/t10k-images-idx3-ubyte.gz`);
const labels = await readIdxLabels(`${FMNIST_DIR}/t10k-labels-idx1-ubyte.gz`);

for (const name of NATIVE_FIXTURES) {
  Deno.test(`${name}: the native program keeps cosine ≥ 0.99 and top-1 within 1 point of float on 300 test images`, async () => {
    const f = await nativeFixture(name);
    // The calibration PNGs are t10k images 0–299: evaluate on images they do not include.
    const test = idxSource(images, labels, f.model.input, f.model.spec, { batchSize: 50, start: 8000, count: 300 });
    const m = await evaluateProgram(f.program, encodeModel(f.result.prepared), test, createOrtExecutor);
    assert.equal(m.samples, 300);
    assert.ok(m.cosine >= 0.99, `cosine ${m.cosine}`);
    assert.ok(m.floatAccuracy! > 0.85, `float top-1 ${m.floatAccuracy}`);
    assert.ok(m.floatAccuracy! - m.int8Accuracy! <= 0.01, `float ${m.floatAccuracy} native ${m.int8Accuracy}`);
  });

  for (const arch of ["host", "aarch64", "armv7"] as RuntimeArch[]) {
    Deno.test(`${name}: the C runtime on ${arch} equals the interpreter byte for byte on 100 inputs`, async () => {
      const golden = await goldenSamples(name);
      const runner = await buildRuntime(arch);
      const got = await runArtifact(arch, runner, golden.artifact, golden.inputs);
      golden.outputs.forEach((expected, i) => assert.deepEqual(got[i], expected, `sample ${i}`));
    });
  }
}
