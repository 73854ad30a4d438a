import assert from "node:assert/strict";
import { analyzeQdqModel } from "./qdq_graph.ts";
import { buildSwitchableModel, SWITCH_INPUT } from "./switchable.ts";
import { planSegments, runSensitivity, type SampleCache } from "./sensitivity.ts";
import { quantizedToy } from "./_debug_test_util.ts";
import { runModel } from "../../tests/_ort_compare.ts";
import { createOrtExecutor } from "../../targets/ort.ts";
import { exposeTensors } from "../quant/calibrate.ts";
import { toyBatch } from "../quant/_toy_test_util.ts";
import { cosineSimilarity } from "../metrics/similarity.ts";

// Both views of every tensor through the cut models must equal the same variants run whole.
for (const batchable of [true, false]) {
  Deno.test(`runSensitivity: segments + cached prefixes give the whole-model results (batchable: ${batchable})`, async () => {
    const result = await quantizedToy();
    const float = result.prepared, qdq = result.quantized;
    const analysis = analyzeQdqModel(qdq, { float });
    const switchable = buildSwitchableModel(qdq, analysis, float.graph.initializers);
    const alias = new Map<string, string>();
    for (const n of float.graph.nodes) for (const o of n.outputs) alias.set(o, o);
    alias.set("x", "x");
    for (const a of analysis.activations) alias.set(a.dequantized, a.floatName!);
    const plan = planSegments(
      switchable,
      qdq,
      float,
      alias,
      new Set(analysis.activations.map((a) => a.dequantized)),
      3,
    );
    assert.ok(plan.segments.length >= 2, `segments: ${plan.segments.length}`);

    const samples = 3;
    const feeds = toyBatch(21, samples);
    const cut = [...new Set(plan.cuts.flatMap((c) => c.live))].filter((t) => t !== "x");
    const f = await runModel(exposeTensors(float, [...cut.map((t) => alias.get(t)!), "logits"]), feeds);
    const q = await runModel(exposeTensors(qdq, [...cut, "logits"]), feeds);
    f.set("x", feeds.x);
    q.set("x", feeds.x);
    const perSample = (t: { data: Float32Array; dims: number[] }) => {
      const per = t.data.length / samples;
      return Array.from(
        { length: samples },
        (_, i) => ({ data: t.data.slice(i * per, (i + 1) * per), dims: [1, ...t.dims.slice(1)] }),
      );
    };
    const floatCache: SampleCache = new Map([...f].map(([n, t]) => [n, perSample(t)]));
    const quantCache: SampleCache = new Map([...q].map(([n, t]) => [n, perSample(t)]));
    const units = analysis.activations.map((_, k) => k);
    const got = await runSensitivity(
      plan,
      switchable,
      createOrtExecutor,
      { float: floatCache, quantized: quantCache, samples, labels: undefined },
      units,
      { output: "logits", batchable, threads: 1 },
    );
    assert.equal(got.perUnit.size, units.length);
    const floatOut = f.get("logits")!.data;
    const per = floatOut.length / samples;
    for (const k of units) {
      for (const view of ["onlyThis", "allButThis"] as const) {
        const width = switchable.switches;
        const switches = new Float32Array(samples * width).fill(view === "onlyThis" ? 0 : 1);
        for (let i = 0; i < samples; i++) switches[i * width + k] = view === "onlyThis" ? 1 : 0;
        const whole = { ...feeds, [SWITCH_INPUT]: { data: switches, dims: [samples, width] } };
        const out = (await runModel(switchable.model, whole, ["logits"])).get("logits")!.data;
        let cos = 0;
        for (let i = 0; i < samples; i++) cos += cosineSimilarity(floatOut, out, i * per, (i + 1) * per) / samples;
        const value = got.perUnit.get(k)![view].cosine;
        assert.ok(Math.abs(value - cos) < 1e-6, `${analysis.activations[k]!.floatName} ${view}: ${value} vs ${cos}`);
      }
    }
    assert.equal(got.float.cosine, 1);
    assert.ok(got.allQuantized.cosine < 1);
  });
}
