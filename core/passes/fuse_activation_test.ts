import assert from "node:assert/strict";
import { clipBounds, findActivationFusions } from "./fuse_activation.ts";
import { floatInfo, makeModel, node, randomFloats, rng } from "../../tests/_ort_compare.ts";
import { DataType, makeTensor } from "../onnx/tensor.ts";

Deno.test("findActivationFusions: Conv+Relu, Conv+Clip(0,6) in both forms; a shared output is not fused", () => {
  const r = rng(1);
  const model = makeModel(
    [
      node("Conv", ["x", "w"], ["c1"]),
      node("Relu", ["c1"], ["r1"]),
      node("Conv", ["r1", "w"], ["c2"]),
      node("Clip", ["c2", "lo", "hi"], ["r2"]),
      node("Conv", ["r2", "w"], ["c3"]),
      node("Clip", ["c3"], ["r3"], { min: 0, max: 6 }),
      node("Conv", ["r3", "w"], ["c4"]),
      node("Relu", ["c4"], ["r4"]),
      node("Add", ["r4", "c4"], ["y"]),
    ],
    [
      randomFloats("w", [1, 1, 1, 1], r),
      makeTensor("lo", DataType.FLOAT, [], new Float32Array([0])),
      makeTensor("hi", DataType.FLOAT, [], new Float32Array([6])),
    ],
    [floatInfo("x", [1, 1, 2, 2])],
    [floatInfo("y", [1, 1, 2, 2])],
  );
  const fusions = findActivationFusions(model.graph);
  assert.deepEqual(fusions.map((f) => [f.tensor, f.bounds]), [["c1", [0, Infinity]], ["c2", [0, 6]], ["c3", [0, 6]]]);
});

Deno.test("clipBounds: missing bounds are infinite, non-constant bounds unknown", () => {
  const g = makeModel([], [], [], []).graph;
  assert.deepEqual(clipBounds(g, node("Clip", ["x", "", "m"], ["y"])), undefined);
  assert.deepEqual(clipBounds(g, node("Clip", ["x"], ["y"])), [-Infinity, Infinity]);
});
