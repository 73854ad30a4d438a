import assert from "node:assert/strict";
import { upgradeToQdqOpset } from "./upgrade_opset.ts";
import { constantsToInitializers } from "./constant_to_initializer.ts";
import { prepareModel } from "./mod.ts";
import { loadPaddle, PADDLE_OUT, paddleFeed } from "./_fixtures_test_util.ts";
import { floatInfo, makeModel, node, outputDiff, randomFloats, rng } from "../../tests/_ort_compare.ts";
import { encodeModel, opsetVersion } from "../onnx/model.ts";

Deno.test("upgradeToQdqOpset: opset 9 Clip/Slice/Softmax/Pad/Unsqueeze rewritten, outputs equal", async () => {
  const r = rng(3);
  const model = makeModel(
    [
      node("Clip", ["x"], ["c"], { min: 0, max: 6 }),
      node("Clip", ["c"], ["c2"], { max: 4 }),
      node("Slice", ["c2"], ["s"], { starts: [0, 1], ends: [2, 4], axes: [2, 3] }),
      node("Pad", ["s"], ["p"], { pads: [0, 0, 1, 0, 0, 0, 0, 1], value: 0.5 }),
      node("Softmax", ["p"], ["sm"], { axis: 1 }),
      node("Unsqueeze", ["sm"], ["y"], { axes: [0] }),
    ],
    [],
    [floatInfo("x", [2, 3, 4, 5])],
    [floatInfo("y", undefined)],
    9,
  );
  const before = encodeModel(model);
  assert.equal(upgradeToQdqOpset(model), 9);
  assert.equal(opsetVersion(model), 13);
  const feed = { x: { data: randomFloats("x", [2, 3, 4, 5], r, -3, 8).data as Float32Array, dims: [2, 3, 4, 5] } };
  assert.ok((await outputDiff(before, encodeModel(model), feed, ["y"])) <= 1e-6);
});

Deno.test("upgradeToQdqOpset: Upsample is refused with its node name", () => {
  const model = makeModel([node("Upsample", ["x", "s"], ["y"], {}, "up1")], [], [floatInfo("x", [1])], [
    floatInfo("y", [1]),
  ], 9);
  assert.throws(() => upgradeToQdqOpset(model), /up1 \(Upsample\)/);
});

Deno.test("upgradeToQdqOpset: PaddleOCR classifier (opset 9) runs at opset 13 with equal outputs", async () => {
  const { bytes, model } = loadPaddle();
  constantsToInitializers(model.graph);
  upgradeToQdqOpset(model);
  assert.ok((await outputDiff(bytes, encodeModel(model), paddleFeed(), [PADDLE_OUT])) <= 1e-4);
});

Deno.test("prepareModel: every pass on the PaddleOCR classifier, outputs within 1e-4", async () => {
  const { bytes, model } = loadPaddle();
  const report = prepareModel(model);
  assert.equal(report.opsetBefore, 9);
  assert.equal(report.batchNormsFolded, 35);
  assert.ok(report.fusions.length > 10, `fusions: ${report.fusions.length}`);
  assert.ok((await outputDiff(bytes, encodeModel(model), paddleFeed(2), [PADDLE_OUT])) <= 1e-4);
});
