import assert from "node:assert/strict";
import { foldBatchNorms } from "./fold_batchnorm.ts";
import { constantsToInitializers } from "./constant_to_initializer.ts";
import { loadPaddle, PADDLE_OUT, paddleFeed } from "./_fixtures_test_util.ts";
import { floatInfo, makeModel, node, outputDiff, randomFloats, rng } from "../../tests/_ort_compare.ts";
import { encodeModel } from "../onnx/model.ts";
import type { Tensor } from "../onnx/tensor.ts";

function bnParams(prefix: string, c: number, r: () => number): Tensor[] {
  return [
    randomFloats(`${prefix}.scale`, [c], r, 0.5, 2),
    randomFloats(`${prefix}.bias`, [c], r, -1, 1),
    randomFloats(`${prefix}.mean`, [c], r, -0.5, 0.5),
    randomFloats(`${prefix}.var`, [c], r, 0.1, 2),
  ];
}

Deno.test("foldBatchNorms: Conv (with and without bias, grouped) + BN", async () => {
  const r = rng(7);
  const model = makeModel(
    [
      node("Conv", ["x", "w1"], ["c1"], { pads: [1, 1, 1, 1] }),
      node("BatchNormalization", ["c1", "bn1.scale", "bn1.bias", "bn1.mean", "bn1.var"], ["b1"], { epsilon: 1e-3 }),
      node("Conv", ["b1", "w2", "cb2"], ["c2"], { group: 4 }),
      node("BatchNormalization", ["c2", "bn2.scale", "bn2.bias", "bn2.mean", "bn2.var"], ["y"]),
    ],
    [
      randomFloats("w1", [4, 3, 3, 3], r),
      randomFloats("w2", [4, 1, 1, 1], r),
      randomFloats("cb2", [4], r),
      ...bnParams("bn1", 4, r),
      ...bnParams("bn2", 4, r),
    ],
    [floatInfo("x", [1, 3, 5, 5])],
    [floatInfo("y", [1, 4, 5, 5])],
  );
  const before = encodeModel(model);
  assert.equal(foldBatchNorms(model.graph), 2);
  assert.deepEqual(model.graph.nodes.map((n) => n.opType), ["Conv", "Conv"]);
  const feed = { x: { data: randomFloats("x", [1, 3, 5, 5], r).data as Float32Array, dims: [1, 3, 5, 5] } };
  assert.ok((await outputDiff(before, encodeModel(model), feed, ["y"])) <= 1e-4);
});

Deno.test("foldBatchNorms: Gemm (transB, beta) + BN", async () => {
  const r = rng(8);
  const model = makeModel(
    [
      node("Gemm", ["x", "w", "c"], ["g"], { transB: 1, beta: 0.5 }),
      node("BatchNormalization", ["g", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["y"]),
    ],
    [randomFloats("w", [6, 5], r), randomFloats("c", [6], r), ...bnParams("bn", 6, r)],
    [floatInfo("x", [3, 5])],
    [floatInfo("y", [3, 6])],
  );
  const before = encodeModel(model);
  assert.equal(foldBatchNorms(model.graph), 1);
  const feed = { x: { data: randomFloats("x", [3, 5], r).data as Float32Array, dims: [3, 5] } };
  assert.ok((await outputDiff(before, encodeModel(model), feed, ["y"])) <= 1e-4);
});

Deno.test("foldBatchNorms: a BN whose input is read twice is left alone", () => {
  const r = rng(9);
  const model = makeModel(
    [
      node("Conv", ["x", "w"], ["c"]),
      node("BatchNormalization", ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["b"]),
      node("Add", ["b", "c"], ["y"]),
    ],
    [randomFloats("w", [2, 1, 1, 1], r), ...bnParams("bn", 2, r)],
    [floatInfo("x", [1, 1, 2, 2])],
    [floatInfo("y", [1, 2, 2, 2])],
  );
  assert.equal(foldBatchNorms(model.graph), 0);
});

Deno.test("foldBatchNorms: all 35 BatchNorms of the PaddleOCR classifier fold, outputs unchanged", async () => {
  const { bytes, model } = loadPaddle();
  constantsToInitializers(model.graph);
  assert.equal(foldBatchNorms(model.graph), 35);
  assert.equal(model.graph.nodes.filter((n) => n.opType === "BatchNormalization").length, 0);
  assert.ok((await outputDiff(bytes, encodeModel(model), paddleFeed(), [PADDLE_OUT])) <= 1e-4);
});
