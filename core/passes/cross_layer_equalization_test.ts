import assert from "node:assert/strict";
import { equalizeCrossLayer } from "./cross_layer_equalization.ts";
import { floatInfo, makeModel, node, outputDiff, randomFloats, rng } from "../../tests/_ort_compare.ts";
import { cloneModel, decodeModel, encodeModel } from "../onnx/model.ts";
import { DataType, makeTensor, type Tensor, toFloat32 } from "../onnx/tensor.ts";
import type { Model } from "../onnx/ir.ts";

/** Random weights whose output channels' ranges differ by up to 100×, as after BN folding. */
function skewed(name: string, dims: number[], r: () => number): Tensor {
  const t = randomFloats(name, dims, r);
  const data = t.data as Float32Array;
  const per = data.length / dims[0]!;
  for (let c = 0; c < dims[0]!; c++) {
    const gain = 10 ** (2 * r() - 1);
    for (let k = 0; k < per; k++) data[c * per + k]! *= gain;
  }
  return t;
}

/** x → Conv → act1 → depthwise Conv → act2 → Conv: a MobileNetV2 block without the residual. */
function block(act: "Relu" | "Clip", seed = 3): Model {
  const r = rng(seed);
  const activation = (input: string, output: string) =>
    act === "Relu" ? node("Relu", [input], [output]) : node("Clip", [input, "zero", "six"], [output]);
  return makeModel(
    [
      node("Conv", ["x", "w1", "b1"], ["c1"]),
      activation("c1", "a1"),
      node("Conv", ["a1", "w2", "b2"], ["c2"], { group: 8, pads: [1, 1, 1, 1] }),
      activation("c2", "a2"),
      node("Conv", ["a2", "w3", "b3"], ["y"]),
    ],
    [
      skewed("w1", [8, 3, 1, 1], r),
      randomFloats("b1", [8], r, -0.5, 0.5),
      skewed("w2", [8, 1, 3, 3], r),
      randomFloats("b2", [8], r, -0.5, 0.5),
      skewed("w3", [4, 8, 1, 1], r),
      randomFloats("b3", [4], r, -0.5, 0.5),
      makeTensor("zero", DataType.FLOAT, [], new Float32Array([0])),
      makeTensor("six", DataType.FLOAT, [], new Float32Array([6])),
    ],
    [floatInfo("x", [2, 3, 6, 6])],
    [floatInfo("y", [2, 4, 6, 6])],
  );
}

const feed = () => ({
  x: { data: randomFloats("x", [2, 3, 6, 6], rng(9), -2, 2).data as Float32Array, dims: [2, 3, 6, 6] },
});

/** Ratio of the largest to the smallest output-channel range of a weight. */
function spread(t: Tensor): number {
  const w = toFloat32(t), c = t.dims[0]!, per = w.length / c;
  const ranges = Array.from({ length: c }, (_, i) => Math.max(...w.subarray(i * per, (i + 1) * per).map(Math.abs)));
  return Math.max(...ranges) / Math.min(...ranges);
}

Deno.test("equalizeCrossLayer: ReLU pairs keep the float outputs (ONNX Runtime, within 1e-4) and even out channel ranges", async () => {
  const model = block("Relu");
  const before = encodeModel(model);
  const spreadBefore = spread(model.graph.initializers.get("w2")!);
  const report = equalizeCrossLayer(model.graph);
  assert.deepEqual(report.pairs, [["c1_node", "c2_node"], ["c2_node", "y_node"]]);
  assert.deepEqual(report.relu6Replaced, []);
  assert.ok(report.sweeps > 1);
  const diff = await outputDiff(before, model, feed(), ["y"]);
  assert.ok(diff < 1e-4, `max |Δy| = ${diff}`);
  const spreadAfter = spread(model.graph.initializers.get("w2")!);
  assert.ok(spreadAfter < spreadBefore / 4, `depthwise channel-range spread ${spreadBefore} → ${spreadAfter}`);
});

Deno.test("equalizeCrossLayer: ReLU6 between a pair becomes ReLU (DFQ/AIMET); then the outputs are unchanged", async () => {
  const model = block("Clip");
  const asRelu = cloneModel(model);
  for (const n of asRelu.graph.nodes) {
    if (n.opType === "Clip") Object.assign(n, { opType: "Relu", inputs: [n.inputs[0]] });
  }
  const report = equalizeCrossLayer(model.graph);
  assert.deepEqual(report.relu6Replaced, ["a1_node", "a2_node"]);
  assert.ok(!model.graph.nodes.some((n) => n.opType === "Clip"));
  assert.ok(!model.graph.initializers.has("six"), "unused Clip bounds are dropped");
  const diff = await outputDiff(encodeModel(asRelu), model, feed(), ["y"]);
  assert.ok(diff < 1e-4, `max |Δy| = ${diff}`);
});

Deno.test("equalizeCrossLayer: leaves a conv whose output has two readers alone", () => {
  const model = block("Relu");
  model.graph.outputs.push(floatInfo("c1", undefined)); // c1 is now also a graph output
  const report = equalizeCrossLayer(model.graph);
  assert.deepEqual(report.pairs, [["c2_node", "y_node"]]);
});

Deno.test("equalizeCrossLayer: on the MobileNetV2-like fixture, ReLU6 → ReLU moves the float logits only slightly", async () => {
  const path = new URL("../../calib-data/models/fmnist_mobilenet.onnx", import.meta.url);
  const model = decodeModel(Deno.readFileSync(path), path.pathname);
  const { prepareModel } = await import("./mod.ts");
  prepareModel(model);
  const before = encodeModel(model);
  const report = equalizeCrossLayer(model.graph);
  assert.ok(report.pairs.length >= 8, `${report.pairs.length} pairs`);
  const r = rng(4);
  const x = new Float32Array(8 * 784).map(() => r());
  const diff = await outputDiff(before, model, { input: { data: x, dims: [8, 1, 28, 28] } }, ["logits"]);
  assert.ok(diff > 0 && diff < 0.2, `max |Δlogits| = ${diff} (ReLU6 → ReLU changes values above 6 only)`);
});
