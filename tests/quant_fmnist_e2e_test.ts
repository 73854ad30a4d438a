// The default command on the bundled sample, and both Fashion-MNIST fixtures through the
// pipeline with a sane accuracy bound (the exact numbers are bench lines, not test expectations).
import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";
import { decodeModel } from "../core/onnx/model.ts";
import { DEFAULT_QUANTIZE_OPTIONS, evaluateQuantization, quantizeModel } from "../core/pipeline.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { readIdxImages, readIdxLabels } from "../cli/idx.ts";
import { idxSource, imageFolderSource } from "../cli/source.ts";
import { BENCH_MODELS, FMNIST_DIR } from "../bench/fixtures.ts";

Deno.test("deno task quant with no arguments quantizes the bundled sample and prints the table", async () => {
  const root = new URL("../", import.meta.url).pathname;
  const out = `${root}out/fmnist_mobilenet.int8.onnx`;
  await Deno.remove(out).catch(() => {});
  const r = await runCli("cli/quant.ts", []);
  assert.equal(r.code, 0, r.stderr);
  for (
    const row of [
      /size .* MB → .* MB \(0\.\d+×\)/,
      /logits cosine\s+0\.9\d+/,
      /logits top-1 agreement/,
      /Worst 5 tensors/,
    ]
  ) {
    assert.match(r.stdout, row);
  }
  const float = (await Deno.stat(`${root}calib-data/models/fmnist_mobilenet.onnx`)).size;
  const int8 = (await Deno.stat(out)).size;
  assert.ok(int8 < 0.45 * float, `int8 ${int8} bytes vs float ${float}`);
  const report = JSON.parse(await Deno.readTextFile(`${root}out/fmnist_mobilenet.int8.report.json`));
  assert.equal(report.tensors.length, report.plan.quantizedTensors - 1); // every tensor but the graph output
});

for (const name of ["fmnist_resnet", "fmnist_mobilenet"]) {
  Deno.test(`${name}: KL int8 keeps top-1 on 2 000 test images within 1.5 points of float`, async () => {
    const m = BENCH_MODELS.find((b) => b.name === name)!;
    const model = decodeModel(await Deno.readFile(m.path), m.path);
    const calib = await imageFolderSource(m.calib, m.input, m.spec, { batchSize: 8 });
    const result = await quantizeModel(model, calib.source, createOrtExecutor, DEFAULT_QUANTIZE_OPTIONS);
    if (name === "fmnist_resnet") assert.equal(result.prepare.batchNormsFolded, 9);
    const images = await readIdxImages(`${FMNIST_DIR}/t10k-images-idx3-ubyte.gz`);
    const labels = await readIdxLabels(`${FMNIST_DIR}/t10k-labels-idx1-ubyte.gz`);
    // The calibration PNGs are t10k images 0–299: evaluate on images they do not include.
    const test = idxSource(images, labels, m.input, m.spec, { batchSize: 250, start: 8000, count: 2000 });
    const ev = await evaluateQuantization(result, test, createOrtExecutor, { tensors: false });
    const out = ev.outputs[0]!;
    assert.equal(out.samples, 2000);
    assert.ok(out.floatAccuracy! > 0.85, `float top-1 ${out.floatAccuracy}`);
    assert.ok(out.floatAccuracy! - out.int8Accuracy! < 0.015, `float ${out.floatAccuracy} int8 ${out.int8Accuracy}`);
    assert.ok(out.cosine > 0.99, `cosine ${out.cosine}`);
  });
}
