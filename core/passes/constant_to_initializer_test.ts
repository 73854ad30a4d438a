import assert from "node:assert/strict";
import { constantsToInitializers } from "./constant_to_initializer.ts";
import { loadPaddle, PADDLE_OUT, paddleFeed } from "./_fixtures_test_util.ts";
import { floatInfo, makeModel, node, outputDiff } from "../../tests/_ort_compare.ts";
import { encodeModel } from "../onnx/model.ts";

Deno.test("constantsToInitializers: PaddleOCR classifier keeps its outputs and loses every Constant", async () => {
  const { bytes, model } = loadPaddle();
  assert.equal(model.graph.initializers.size, 0);
  const converted = constantsToInitializers(model.graph);
  assert.equal(converted, 250);
  assert.equal(model.graph.nodes.filter((n) => n.opType === "Constant").length, 0);
  assert.ok((await outputDiff(bytes, encodeModel(model), paddleFeed(), [PADDLE_OUT])) <= 1e-4);
});

Deno.test("constantsToInitializers: value_float / value_ints forms", async () => {
  const model = makeModel(
    [
      { ...node("Constant", [], ["k"]), attributes: new Map([["value_float", { type: "float", value: 2.5 }]]) },
      { ...node("Constant", [], ["shape"]), attributes: new Map([["value_ints", { type: "ints", value: [1, 4] }]]) },
      node("Mul", ["x", "k"], ["m"]),
      node("Reshape", ["m", "shape"], ["y"]),
    ],
    [],
    [floatInfo("x", [2, 2])],
    [floatInfo("y", [1, 4])],
  );
  const before = encodeModel(model);
  assert.equal(constantsToInitializers(model.graph), 2);
  const feed = { x: { data: new Float32Array([1, 2, 3, 4]), dims: [2, 2] } };
  assert.equal(await outputDiff(before, encodeModel(model), feed, ["y"]), 0);
});
