import assert from "node:assert/strict";
import { removeIdentities } from "./remove_identity.ts";
import { floatInfo, makeModel, node, outputDiff } from "../../tests/_ort_compare.ts";
import { encodeModel } from "../onnx/model.ts";

Deno.test("removeIdentities: drops Identity and Dropout, keeps graph output names", async () => {
  const model = makeModel(
    [
      node("Identity", ["x"], ["a"]),
      node("Relu", ["a"], ["b"]),
      node("Dropout", ["b"], ["c"]),
      node("Sigmoid", ["c"], ["d"]),
      node("Identity", ["d"], ["y"]),
    ],
    [],
    [floatInfo("x", [4])],
    [floatInfo("y", [4])],
    12,
  );
  const before = encodeModel(model);
  assert.equal(removeIdentities(model.graph), 3);
  assert.deepEqual(model.graph.nodes.map((n) => n.opType), ["Relu", "Sigmoid"]);
  assert.equal(model.graph.outputs[0]!.name, "y");
  const feed = { x: { data: new Float32Array([-1, 0, 1, 2]), dims: [4] } };
  assert.equal(await outputDiff(before, encodeModel(model), feed, ["y"]), 0);
});

Deno.test("removeIdentities: an Identity from graph input to graph output stays", () => {
  const model = makeModel([node("Identity", ["x"], ["y"])], [], [floatInfo("x", [1])], [floatInfo("y", [1])]);
  assert.equal(removeIdentities(model.graph), 0);
  assert.equal(model.graph.nodes.length, 1);
});
