import assert from "node:assert/strict";
import { planQuantization } from "./plan.ts";
import { findActivationFusions } from "../passes/fuse_activation.ts";
import { toyModel } from "./_toy_test_util.ts";

Deno.test("planQuantization: calibrated, shared, fused and float tensors of a small CNN", () => {
  const graph = toyModel().graph;
  const plan = planQuantization(graph, findActivationFusions(graph), { perChannel: true, skip: [] });
  // c1 and c2 sit between Conv and its fused activation: they stay float.
  assert.deepEqual([...plan.fused].sort(), ["c1", "c2"]);
  assert.deepEqual(plan.calibrated, ["x", "r1", "r2", "a", "g", "logits"]);
  // MaxPool and Reshape keep their input's parameters.
  assert.deepEqual([...plan.shared], [["p1", "r1"], ["f", "g"]]);
  assert.deepEqual([...plan.graphInputs], ["x"]);
  // int64 shape arithmetic is never quantized.
  assert.ok(!plan.quantized.some((t) => ["gs", "n", "newshape"].includes(t)));
  assert.deepEqual(plan.floatNodes.map((n) => [n.name, n.reason]), [
    ["shape", "unsupported-op"],
    ["gather", "unsupported-op"],
    ["concat_shape", "not-quantizable"],
  ]);
  assert.deepEqual(plan.marks.get("fc")?.weights, [{ slot: 1, axis: 0 }]);
  assert.deepEqual(plan.marks.get("conv1")?.bias, { slot: 2, activationSlot: 0, weightSlot: 1 });
});

Deno.test("planQuantization: skip list by node or tensor name; unknown names are an error", () => {
  const graph = toyModel().graph;
  const plan = planQuantization(graph, [], { perChannel: false, skip: ["dwconv", "logits"] });
  assert.ok(!plan.marks.has("dwconv"));
  assert.ok(!plan.marks.has("fc"));
  assert.deepEqual(plan.marks.get("conv1")?.weights, [{ slot: 1, axis: undefined }]);
  assert.throws(
    () => planQuantization(graph, [], { perChannel: true, skip: ["conv9", "dwconv"] }),
    /Skip list names "conv9", not a node or tensor of the model/,
  );
});
