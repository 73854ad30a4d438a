import assert from "node:assert/strict";
import { DEFAULT_QUANTIZE_OPTIONS, evaluateQuantization, quantizeModel } from "./pipeline.ts";
import type { BatchSource } from "./quant/calibrate.ts";
import { opsetVersion } from "./onnx/model.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { toyBatch, toyModel } from "./quant/_toy_test_util.ts";
import { runModel } from "../tests/_ort_compare.ts";

const source = (batches: number, size: number): BatchSource =>
  async function* () {
    for (let i = 0; i < batches; i++) yield { feeds: toyBatch(100 + i, size), size };
  };

for (const opset of [13, 17, 21]) {
  Deno.test(`quantizeModel: a CNN at opset ${opset} stays at ${opset} and runs in ONNX Runtime`, async () => {
    const model = toyModel();
    model.opsetImports = [{ domain: "", version: opset }];
    model.irVersion = opset >= 21 ? 10 : 8;
    for (const method of ["KL", "MINMAX"]) {
      const result = await quantizeModel(model, source(4, 8), createOrtExecutor, {
        ...DEFAULT_QUANTIZE_OPTIONS,
        method,
      });
      assert.equal(opsetVersion(result.quantized), opset);
      assert.equal(result.calibrationSamples, 32);
      assert.equal(result.calibrationPasses, 1); // KL: one range-growing pass by default
      const out = await runModel(result.quantizedBytes, toyBatch(7, 3), ["logits"]);
      assert.deepEqual(out.get("logits")!.dims, [3, 3]);
      const ev = await evaluateQuantization(result, source(2, 4), createOrtExecutor);
      assert.ok(ev.outputs[0]!.cosine > 0.99, `${method}: ${ev.outputs[0]!.cosine}`);
      assert.equal(ev.tensors.length, result.plan.quantized.length - 1);
    }
  });
}

Deno.test("quantizeModel: NaN in an activation names the tensor and the sample", async () => {
  const nanSource: BatchSource = async function* () {
    yield { feeds: toyBatch(1, 2), size: 2 };
    const bad = toyBatch(2, 2);
    bad.x.data[64 + 5] = NaN; // sample 1 of the second batch → sample index 3
    yield { feeds: bad, size: 2 };
  };
  await assert.rejects(
    quantizeModel(toyModel(), nanSource, createOrtExecutor, { ...DEFAULT_QUANTIZE_OPTIONS, method: "MINMAX" }),
    /Tensor "x" holds NaN on calibration sample 3/,
  );
});

Deno.test("quantizeModel: asymmetric uint8 and per-tensor weights", async () => {
  const result = await quantizeModel(toyModel(), source(3, 8), createOrtExecutor, {
    ...DEFAULT_QUANTIZE_OPTIONS,
    scheme: "asymmetric-uint8",
    perChannel: false,
  });
  assert.ok([...result.params.values()].every((p) => p.dataType === 2));
  const ev = await evaluateQuantization(result, source(2, 4), createOrtExecutor);
  assert.ok(ev.outputs[0]!.cosine > 0.99);
});
