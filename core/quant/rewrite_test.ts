import assert from "node:assert/strict";
import { planQuantization } from "./plan.ts";
import { rewriteToQdq } from "./rewrite.ts";
import { activationParams, type QuantParams } from "./params.ts";
import { findActivationFusions } from "../passes/fuse_activation.ts";
import { cloneModel, decodeModel, encodeModel } from "../onnx/model.ts";
import { DataType, toFloat32 } from "../onnx/tensor.ts";
import { runModel } from "../../tests/_ort_compare.ts";
import { cosineSimilarity } from "../metrics/similarity.ts";
import { toyBatch, toyModel } from "./_toy_test_util.ts";

async function quantizeToy(scheme: "symmetric-int8" | "asymmetric-uint8") {
  const float = toyModel();
  const graph = float.graph;
  const plan = planQuantization(graph, findActivationFusions(graph), { perChannel: true, skip: [] });
  // Ranges from one float run over a batch (what MinMax would find).
  const names = plan.calibrated;
  const exposed = cloneModel(float);
  exposed.graph.outputs.push(
    ...names.filter((n) => n !== "logits").map((name) => ({ name, elemType: 1, shape: undefined })),
  );
  const feed = toyBatch(5, 16);
  const out = await runModel(exposed, feed, names);
  const params = new Map<string, QuantParams>();
  for (const n of names) {
    const d = out.get(n)!.data;
    let lo = Infinity, hi = -Infinity;
    for (const v of d) (lo = Math.min(lo, v), hi = Math.max(hi, v));
    params.set(n, activationParams({ min: lo, max: hi, observedMin: lo, observedMax: hi }, scheme, 127));
  }
  for (const [t, src] of plan.shared) params.set(t, params.get(src)!);
  const quantized = cloneModel(float);
  const summary = rewriteToQdq(quantized, plan, params, { clamp: 127 });
  return { float, quantized, plan, params, summary, feed };
}

Deno.test("rewriteToQdq: the QDQ model runs in ONNX Runtime and stays close to float", async () => {
  for (const scheme of ["symmetric-int8", "asymmetric-uint8"] as const) {
    const { float, quantized, feed } = await quantizeToy(scheme);
    const bytes = encodeModel(quantized);
    const f = (await runModel(float, feed, ["logits"])).get("logits")!.data;
    const q = (await runModel(bytes, feed, ["logits"])).get("logits")!.data;
    assert.ok(cosineSimilarity(f, q) > 0.999, `${scheme}: cosine ${cosineSimilarity(f, q)}`);
    assert.notDeepEqual(Array.from(f), Array.from(q)); // it really is quantized
  }
});

Deno.test("rewriteToQdq: int8 weights, int32 biases, float weights gone, tensor names kept", async () => {
  const { quantized, plan, summary } = await quantizeToy("symmetric-int8");
  const g = decodeModel(encodeModel(quantized), "q").graph;
  for (const name of ["w1", "w2", "wfc", "b1", "b2", "bfc"]) {
    assert.ok(!g.initializers.has(name), `${name} still float`);
  }
  // The DequantizeLinear of each weight is named after it; its inputs are the int8 data and the scales.
  const dq = (name: string) => g.nodes.find((n) => n.name === `${name}:DQ`)!;
  assert.equal(g.initializers.get(dq("w1").inputs[0]!)!.dataType, DataType.INT8);
  assert.deepEqual(g.initializers.get(dq("w1").inputs[0]!)!.dims, [4, 1, 3, 3]);
  assert.deepEqual(g.initializers.get(dq("w1").inputs[1]!)!.dims, [4]);
  assert.equal(g.initializers.get(dq("b1").inputs[0]!)!.dataType, DataType.INT32);
  // The bias scale is Mul(input scale, weight scales), not a stored array.
  assert.equal(g.producers().get(dq("b1").inputs[1]!)!.opType, "Mul");
  assert.equal(summary.weightsQuantized, 3);
  assert.equal(summary.biasesQuantized, 3);
  // Every quantized tensor is the output of a DequantizeLinear under its float-model name.
  const producers = g.producers();
  for (const t of plan.quantized.filter((t) => t !== "x")) assert.equal(producers.get(t)?.opType, "DequantizeLinear");
  assert.equal(producers.get("x_dequantized")?.opType, "DequantizeLinear");
  // Dequantized weights are within half a step of the float ones.
  const w = toFloat32(toyModel().graph.initializers.get("w1")!);
  const q = g.initializers.get(dq("w1").inputs[0]!)!.data as Int8Array;
  const s = toFloat32(g.initializers.get(dq("w1").inputs[1]!)!);
  for (let i = 0; i < w.length; i++) {
    assert.ok(Math.abs(q[i]! * s[Math.floor(i / 9)]! - w[i]!) <= s[Math.floor(i / 9)]! / 2 + 1e-7);
  }
});
