import assert from "node:assert/strict";
import { analyzeQdqModel } from "./qdq_graph.ts";
import { buildProbeModel, dequantizeProbes } from "./probe.ts";
import { quantizedToy } from "./_debug_test_util.ts";
import { runModel } from "../../tests/_ort_compare.ts";
import { toyBatch } from "../quant/_toy_test_util.ts";
import { cosineSimilarity } from "../metrics/similarity.ts";
import { exposeTensors } from "../quant/calibrate.ts";

Deno.test("buildProbeModel: the integer tensors, dequantized, are the QDQ model's fake-quantized tensors", async () => {
  const result = await quantizedToy();
  const analysis = analyzeQdqModel(result.quantized, { float: result.prepared });
  const names = analysis.activations.map((a) => a.dequantized);
  assert.ok(names.length >= 3);
  const probe = buildProbeModel(result.quantized, analysis, names);
  assert.equal(probe.points.length, names.length);
  assert.deepEqual(probe.model.graph.outputs.slice(0, probe.outputs.length).map((o) => o.name), probe.outputs);
  const feeds = toyBatch(7, 4);
  // The probe model runs with the integer outputs (ORT keeps fusing Q/DQ into integer kernels)…
  const integers = await runModel(probe.model, feeds, [...probe.outputs, ...probe.points.map((p) => p.integer)]);
  for (const p of probe.points) {
    const t = integers.get(p.integer)!;
    assert.ok(t.data.every((v) => Number.isInteger(v) && v >= -128 && v <= 255), p.integer);
  }
  // …and agrees with the plain QDQ model's dequantized tensors up to integer-kernel rounding.
  const reference = await runModel(exposeTensors(result.quantized, names), feeds, names);
  const dequantized = dequantizeProbes(probe, integers);
  for (const name of names) {
    const a = reference.get(name)!, b = dequantized.get(name)!;
    assert.deepEqual(b.dims, a.dims);
    assert.ok(cosineSimilarity(a.data, b.data, 0, a.data.length) > 0.999, name);
  }
  const out = probe.outputs[0]!;
  const plain = await runModel(result.quantized, feeds, [out]);
  assert.ok(cosineSimilarity(plain.get(out)!.data, integers.get(out)!.data, 0, plain.get(out)!.data.length) > 0.999);
});
