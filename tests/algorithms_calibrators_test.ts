// Every calibration method through the whole pipeline in ONNX Runtime: the toy CNN at several
// opsets and batch sizes, the passes each method takes, and NaN reporting through the in-graph
// reductions.
import assert from "node:assert/strict";
import { calibrators } from "../core/calib/mod.ts";
import { DEFAULT_QUANTIZE_OPTIONS, evaluateQuantization, quantizeModel } from "../core/pipeline.ts";
import type { BatchSource } from "../core/quant/calibrate.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { toyBatch, toyModel } from "../core/quant/_toy_test_util.ts";

const source = (batches: number, size: number): BatchSource =>
  async function* () {
    for (let i = 0; i < batches; i++) yield { feeds: toyBatch(100 + i, size), size };
  };

const EXPECTED_PASSES: Record<string, number> = {
  KL: 1,
  MINMAX: 1,
  MAX_ABS: 1,
  EMA: 1,
  ADMM: 1,
  PERCENTILE: 1,
  MSE: 1,
};

for (const method of Object.keys(calibrators)) {
  Deno.test(`pipeline: ${method} calibrates the toy CNN (opset 13 and 18, batch 1 and 5) and stays close to float`, async () => {
    for (const [opset, batch] of [[13, 1], [18, 5]] as const) {
      const model = toyModel();
      model.opsetImports = [{ domain: "", version: opset }];
      const scheme = method === "EMA" ? "asymmetric-uint8" : "symmetric-int8";
      const result = await quantizeModel(model, source(10, batch), createOrtExecutor, {
        ...DEFAULT_QUANTIZE_OPTIONS,
        method,
        scheme,
        methodOptions: { emaBatchSize: 4 },
      });
      assert.equal(result.calibrationPasses, EXPECTED_PASSES[method]);
      assert.equal(result.calibrationSamples, 10 * batch);
      const ev = await evaluateQuantization(result, source(3, 4), createOrtExecutor);
      assert.ok(ev.outputs[0]!.cosine > 0.99, `${method} opset ${opset}: cosine ${ev.outputs[0]!.cosine}`);
    }
  });
}

Deno.test("pipeline: range-only methods copy no tensor out of the runtime; histogram methods copy each once", async () => {
  const run = async (method: string, methodOptions = {}) =>
    (await quantizeModel(toyModel(), source(2, 2), createOrtExecutor, {
      ...DEFAULT_QUANTIZE_OPTIONS,
      method,
      methodOptions,
    }))
      .calibrationPerPass;
  const minmax = await run("MINMAX");
  assert.equal(minmax.length, 1);
  assert.equal(minmax[0]!.values, 0);
  assert.ok(minmax[0]!.ranges > 3);
  const kl = await run("KL", { klPasses: 2 });
  assert.deepEqual([kl[0]!.values, kl[1]!.ranges], [0, 0]); // pass 0 ranges only, pass 1 values only
  const klOnePass = await run("KL");
  assert.equal(klOnePass.length, 1);
  const mse = await run("MSE");
  assert.deepEqual(mse.map((p) => p.ranges), [1]); // the graph input is calibrated with MAX (MNN)
});

Deno.test("pipeline: KL one pass (the default) picks thresholds close to MNN's two-pass KL", async () => {
  const options = { ...DEFAULT_QUANTIZE_OPTIONS, method: "KL" };
  const one = await quantizeModel(toyModel(), source(20, 4), createOrtExecutor, options);
  const two = await quantizeModel(toyModel(), source(20, 4), createOrtExecutor, {
    ...options,
    methodOptions: { klPasses: 2 },
  });
  assert.deepEqual([one.calibrationPasses, two.calibrationPasses], [1, 2]);
  for (const [t, r] of two.ranges) {
    const other = one.ranges.get(t)!;
    assert.ok(
      Math.abs(other.threshold! - r.threshold!) <= 0.05 * r.threshold!,
      `${t}: ${other.threshold} vs ${r.threshold}`,
    );
  }
});

for (const method of ["MINMAX", "MSE", "KL"]) {
  Deno.test(`pipeline: NaN in a deeper activation names the tensor and the sample (${method}, batches of 3)`, async () => {
    const nanSource: BatchSource = async function* () {
      yield { feeds: toyBatch(1, 3), size: 3 };
      const bad = toyBatch(2, 3);
      bad.x.data.fill(Infinity, 64 * 2, 64 * 3); // sample 2 of the second batch → sample index 5
      yield { feeds: bad, size: 3 };
    };
    await assert.rejects(
      quantizeModel(toyModel(), nanSource, createOrtExecutor, { ...DEFAULT_QUANTIZE_OPTIONS, method }),
      /Tensor "x" holds Inf on calibration sample 5/,
    );
  });
}
