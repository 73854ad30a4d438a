import assert from "node:assert/strict";
import { chooseCuts, extractSubModel, liveSets } from "./segments.ts";
import { floatInfo, makeModel, node, runModel } from "../../tests/_ort_compare.ts";
import { toyBatch, toyModel } from "../quant/_toy_test_util.ts";
import { cloneModel } from "../onnx/model.ts";
import { prepareModel } from "../passes/mod.ts";

// x → a → b → y with a skip x → y: the live set carries x past a and b.
function diamond() {
  return makeModel(
    [
      node("Neg", ["x"], ["a"], {}, "n1"),
      node("Relu", ["a"], ["b"], {}, "n2"),
      node("Add", ["b", "x"], ["y"], {}, "n3"),
    ],
    [],
    [floatInfo("x", ["N", 4])],
    [floatInfo("y", ["N", 4])],
  );
}

Deno.test("liveSets: the tensors crossing each position, skip connections included", () => {
  assert.deepEqual(liveSets(diamond().graph, []).map((s) => s.sort()), [["x"], ["a", "x"], ["b", "x"], ["y"]]);
});

Deno.test("extractSubModel: a backward slice; reports what it lacks", () => {
  const sub = extractSubModel(diamond(), ["a", "x"], ["y"]);
  assert.deepEqual(sub.graph.nodes.map((n) => n.name), ["n2", "n3"]);
  assert.deepEqual(sub.graph.inputs.map((v) => v.name), ["a", "x"]);
  assert.deepEqual(extractSubModel(diamond(), ["a", "x"], ["b"]).graph.inputs.map((v) => v.name), ["a"]);
  assert.throws(() => extractSubModel(diamond(), ["a"], ["y"]), /Segment needs "x"/);
});

Deno.test("chooseCuts + extractSubModel: the segments of a CNN, run one after another, give its output", async () => {
  const model = cloneModel(toyModel());
  prepareModel(model);
  const g = model.graph;
  const cuts = chooseCuts(g, [], 3, () => 1, () => true);
  assert.ok(cuts.length >= 3, `cuts ${cuts.map((c) => c.position)}`);
  // Cuts never fall where an int64 shape tensor crosses.
  for (const c of cuts.slice(1, -1)) assert.ok(!c.live.includes("gs") && !c.live.includes("newshape"), c.live.join());
  const feeds = toyBatch(9, 3);
  const values = new Map(Object.entries(feeds));
  for (let s = 0; s + 1 < cuts.length; s++) {
    const outputs = cuts[s + 1]!.live.filter((t) => !cuts[s]!.live.includes(t));
    const sub = extractSubModel(model, cuts[s]!.live, outputs);
    const out = await runModel(sub, Object.fromEntries(sub.graph.inputs.map((v) => [v.name, values.get(v.name)!])));
    for (const [name, t] of out) values.set(name, t);
  }
  const whole = (await runModel(model, feeds)).get("logits")!.data;
  assert.deepEqual(values.get("logits")!.data, whole);
});
