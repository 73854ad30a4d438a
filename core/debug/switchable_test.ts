import assert from "node:assert/strict";
import { analyzeQdqModel } from "./qdq_graph.ts";
import { buildSwitchableModel, SWITCH_INPUT } from "./switchable.ts";
import { quantizedToy } from "./_debug_test_util.ts";
import { runModel } from "../../tests/_ort_compare.ts";
import { exposeTensors } from "../quant/calibrate.ts";
import { toyBatch } from "../quant/_toy_test_util.ts";
import { roundHalfAway } from "../quant/params.ts";

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

Deno.test("buildSwitchableModel: all switches on is the QDQ model, all off the float model", async () => {
  const result = await quantizedToy();
  const analysis = analyzeQdqModel(result.quantized, { float: result.prepared });
  const s = buildSwitchableModel(result.quantized, analysis, result.prepared.graph.initializers);
  assert.equal(s.switches, analysis.activations.length + 1);
  assert.deepEqual(s.fixedWeights, []);
  const names = analysis.activations.filter((a) => a.floatName !== "x").map((a) => a.dequantized);
  const feeds = toyBatch(3, 4);
  const sw = (value: number) =>
    runModel(exposeTensors(s.model, names), {
      ...feeds,
      [SWITCH_INPUT]: { data: new Float32Array(4 * s.switches).fill(value), dims: [4, s.switches] },
    }, names);
  const on = await sw(1), off = await sw(0);
  const qdq = await runModel(exposeTensors(result.quantized, names), feeds, names);
  const float = await runModel(exposeTensors(result.prepared, names), feeds, names);
  for (const t of names) {
    // Weights enter as float + error (a twin node on the error): equal up to float rounding.
    const scale = qdq.get(t)!.data.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    assert.ok(maxDiff(on.get(t)!.data, qdq.get(t)!.data) <= 1e-5 * scale, `${t}: switchable on vs QDQ`);
    assert.ok(maxDiff(off.get(t)!.data, float.get(t)!.data) <= 1e-5, `${t}: switchable off vs float`);
    assert.ok(maxDiff(on.get(t)!.data, off.get(t)!.data) > 0, `${t}: quantization changes it`);
  }
});

Deno.test("buildSwitchableModel: switch rows are per sample — row 0 fake-quantizes one tensor, row 1 nothing", async () => {
  const result = await quantizedToy();
  const analysis = analyzeQdqModel(result.quantized, { float: result.prepared });
  const s = buildSwitchableModel(result.quantized, analysis, result.prepared.graph.initializers);
  const k = analysis.activations.findIndex((a) => a.floatName === "p1"); // MaxPool output: no weights of its own
  const a = analysis.activations[k]!;
  const switches = new Float32Array(2 * s.switches);
  switches[k] = 1; // sample 0 only
  const one = toyBatch(4, 1);
  const feeds = { x: { data: new Float32Array([...one.x.data, ...one.x.data]), dims: [2, 1, 8, 8] } };
  const got = (await runModel(exposeTensors(s.model, [a.dequantized]), {
    ...feeds,
    [SWITCH_INPUT]: { data: switches, dims: [2, s.switches] },
  }, [a.dequantized])).get(a.dequantized)!.data;
  const float = (await runModel(exposeTensors(result.prepared, ["p1"]), one, ["p1"])).get("p1")!.data;
  const { scale, zeroPoint, qmin, qmax } = a.params;
  // ONNX Runtime rounds half to even, we round half away: they differ only on exact halves.
  const expected = float.map((x) =>
    (Math.min(qmax, Math.max(qmin, roundHalfAway(x / scale) + zeroPoint)) - zeroPoint) * scale
  );
  const n = float.length;
  assert.ok(maxDiff(got.subarray(0, n), expected) <= scale * 1e-5, `row 0: ${maxDiff(got.subarray(0, n), expected)}`);
  assert.ok(maxDiff(got.subarray(n), float) <= 1e-6, `row 1 is float: ${maxDiff(got.subarray(n), float)}`);
  assert.ok(maxDiff(expected, float) > 0, "quantizing p1 changes it");
});
