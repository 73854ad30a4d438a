import assert from "node:assert/strict";
import { analyzeQdqModel } from "./qdq_graph.ts";
import { quantizedToy } from "./_debug_test_util.ts";
import { cloneModel } from "../onnx/model.ts";

Deno.test("analyzeQdqModel: our QDQ model read back — every tensor, its parameters and its weights", async () => {
  const result = await quantizedToy();
  const a = analyzeQdqModel(result.quantized, { float: result.prepared, symmetricClamp: 127 });
  assert.deepEqual(a.unreadable, []);
  assert.deepEqual(a.activations.map((x) => x.floatName).sort(), [...result.plan.quantized].sort());
  for (const x of a.activations) {
    const p = result.params.get(x.floatName!)!;
    assert.ok(Math.abs(x.params.scale - p.scale) <= 1e-7 * p.scale, `scale of ${x.floatName}`);
    assert.deepEqual([x.params.zeroPoint, x.params.qmin, x.params.qmax], [p.zeroPoint, p.qmin, p.qmax]);
  }
  // The graph input is read under its dequantized name; everything else under its own.
  const input = a.activations.find((x) => x.floatName === "x")!;
  assert.equal(input.dequantized, "x_dequantized");
  // Weights (3 layers) and biases (3) all have float originals and belong to the tensor their node makes.
  assert.equal(a.weights.length, 6);
  const owners = a.weights.map((w) => a.activations[w.owner!]?.floatName);
  assert.deepEqual(owners.filter((o) => o === undefined), []);
  assert.deepEqual(a.weights.filter((w) => w.perChannel !== undefined).map((w) => w.perChannel), [true, true, true]);
  assert.ok(a.weights.every((w) => result.prepared.graph.initializers.has(w.floatName!)));
});

Deno.test("analyzeQdqModel: a foreign model's names are matched through the QuantizeLinear input, or listed", async () => {
  const result = await quantizedToy();
  const foreign = cloneModel(result.quantized);
  // As ONNX Runtime's quantizer names them: consumers read `<T>_DequantizeLinear_Output`, fed by Q(T).
  const g = foreign.graph;
  const producers = g.producers();
  const renames = new Map<string, string>();
  for (const n of g.nodes) {
    if (n.opType !== "DequantizeLinear" || g.initializers.has(n.inputs[0]!) || n.outputs[0] === "x_dequantized") {
      continue;
    }
    const t = n.outputs[0]!;
    const q = producers.get(n.inputs[0]!)!;
    const pre = q.inputs[0]!; // f<k>, made by the float producer: rename back to T
    for (const m of g.nodes) m.outputs = m.outputs.map((o) => o === pre ? t : o);
    q.inputs[0] = t;
    renames.set(t, `${t}_DequantizeLinear_Output`);
  }
  for (const n of g.nodes) {
    if (n.opType === "QuantizeLinear") continue;
    n.inputs = n.inputs.map((i) => renames.get(i) ?? i);
    if (n.opType === "DequantizeLinear") n.outputs = n.outputs.map((o) => renames.get(o) ?? o);
  }
  for (const o of g.outputs) o.name = renames.get(o.name) ?? o.name;
  // One tensor the float model does not have at all.
  const gap = g.nodes.find((n) => n.opType === "QuantizeLinear" && n.inputs[0] === "r2")!;
  for (const m of g.nodes) {
    m.inputs = m.inputs.map((i) => i === "r2" ? "mystery" : i);
    m.outputs = m.outputs.map((o) => o === "r2" ? "mystery" : o);
  }
  assert.equal(gap.inputs[0], "mystery");
  const a = analyzeQdqModel(foreign, { float: result.prepared });
  const matched = a.activations.filter((x) => x.floatName !== undefined);
  assert.equal(matched.length, result.plan.quantized.length - 1);
  assert.ok(matched.some((x) => x.dequantized === "p1_DequantizeLinear_Output" && x.floatName === "p1"));
  assert.deepEqual(a.activations.filter((x) => x.floatName === undefined).map((x) => x.input), ["mystery"]);
  // Without a clamp the full int8 range applies (ONNX Runtime's QuantizeLinear saturates at -128/127).
  assert.deepEqual([matched[1]!.params.qmin, matched[1]!.params.qmax], [-128, 127]);
});
