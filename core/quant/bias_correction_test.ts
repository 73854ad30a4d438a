import assert from "node:assert/strict";
import { applyBiasCorrection, biasCorrectionTargets, ChannelMeans, weightErrorShift } from "./bias_correction.ts";
import { planQuantization } from "./plan.ts";
import { findActivationFusions } from "../passes/fuse_activation.ts";
import { Graph } from "../onnx/ir.ts";
import { DataType, makeTensor, toFloat32 } from "../onnx/tensor.ts";
import { toyModel } from "./_toy_test_util.ts";
import { mulberry32 } from "../calib/_test_rng.ts";

Deno.test("biasCorrectionTargets: every quantized Conv / Gemm with a bias, with its input and layout", () => {
  const float = toyModel();
  const plan = planQuantization(float.graph, findActivationFusions(float.graph), { perChannel: true, skip: [] });
  const targets = biasCorrectionTargets(float.graph, plan);
  assert.deepEqual(targets.map((t) => [t.node, t.bias, t.weight, t.input, t.inputChannels]), [
    ["conv1", "b1", "w1", "x", 1],
    ["dwconv", "b2", "w2", "p1", 4],
    ["fc", "bfc", "wfc", "f", 4],
  ]);
  assert.deepEqual(targets[1]!.layout, { kind: "conv", group: 4 });
  assert.deepEqual(targets[2]!.layout, { kind: "gemm", transB: true, alpha: 1, beta: 1 });
});

Deno.test("weightErrorShift: equals the mean output difference of float and quantized weights on constant inputs", () => {
  const random = mulberry32(3);
  // grouped conv: 4 outputs, 2 groups, 3 inputs per group, 2×2 kernel; inputs are constant per channel,
  // so the output mean difference is exactly Σ ΔW · x
  const dims = [4, 3, 2, 2];
  const w = new Float32Array(48).map(() => random() - 0.5);
  const wq = w.map((v) => Math.round(v * 8) / 8);
  const x = new Float64Array(6).map(() => random() * 3);
  const shift = weightErrorShift({ kind: "conv", group: 2 }, dims, w, wq, x);
  for (let c = 0; c < 4; c++) {
    const g = Math.floor(c / 2);
    let expected = 0;
    for (let i = 0; i < 3; i++) {
      for (let k = 0; k < 4; k++) expected += (wq[(c * 3 + i) * 4 + k]! - w[(c * 3 + i) * 4 + k]!) * x[g * 3 + i]!;
    }
    assert.ok(Math.abs(shift[c]! - expected) < 1e-9);
  }
  // Gemm with B as [K, N] (transB 0) and alpha 2
  const b = new Float32Array([1, 2, 3, 4, 5, 6]); // K = 3, N = 2
  const bq = new Float32Array([1, 2.5, 3, 4, 5, 5]);
  const gemm = weightErrorShift(
    { kind: "gemm", transB: false, alpha: 2, beta: 1 },
    [3, 2],
    b,
    bq,
    new Float64Array([1, 1, 10]),
  );
  assert.deepEqual([...gemm], [0, 2 * (0.5 - 10)]);
});

Deno.test("ChannelMeans + applyBiasCorrection: the bias loses the shift; Gemm's beta is honoured", () => {
  const means = new ChannelMeans(2);
  means.add({ data: new Float32Array([1, 3, 10, 20]), dims: [1, 2, 2] });
  assert.deepEqual([...means.means()], [2, 15]);
  assert.throws(() => means.add({ data: new Float32Array(3), dims: [1, 3] }), /3 channels/);
  const graph = new Graph(
    "g",
    [],
    new Map([["b", makeTensor("b", DataType.FLOAT, [2], new Float32Array([1, 2]))]]),
    [],
    [],
    new Map(),
  );
  const gemm = { kind: "gemm", transB: true, alpha: 1, beta: 2 } as const;
  const target = { node: "fc", bias: "b", weight: "w", input: "x", inputChannels: 3, layout: gemm };
  const largest = applyBiasCorrection(graph, [target], new Map([["fc", new Float64Array([0.5, -1])]]));
  assert.deepEqual([...toFloat32(graph.initializers.get("b")!)], [0.75, 2.5]); // b − shift / beta
  assert.equal(largest.get("fc"), 1);
  assert.throws(() => applyBiasCorrection(graph, [target], new Map([["fc", new Float64Array(3)]])), /3 channel shifts/);
});
