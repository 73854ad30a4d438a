// Weight methods, bit widths, int16 activations, cross-layer equalization and bias correction
// through the whole pipeline, run in ONNX Runtime.
import assert from "node:assert/strict";
import {
  DEFAULT_QUANTIZE_OPTIONS,
  evaluateQuantization,
  quantizeModel,
  type QuantizeOptions,
} from "../core/pipeline.ts";
import type { BatchSource } from "../core/quant/calibrate.ts";
import { decodeModel, encodeModel, opsetVersion } from "../core/onnx/model.ts";
import { imageFolderSource } from "../cli/source.ts";
import { exposeTensors } from "../core/quant/calibrate.ts";
import { DataType } from "../core/onnx/tensor.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { toyBatch, toyModel } from "../core/quant/_toy_test_util.ts";
import { runModel } from "./_ort_compare.ts";

const source = (batches: number, size: number, seed = 100): BatchSource =>
  async function* () {
    for (let i = 0; i < batches; i++) yield { feeds: toyBatch(seed + i, size), size };
  };

async function cosine(options: Partial<QuantizeOptions>, opset = 13) {
  const model = toyModel();
  model.opsetImports = [{ domain: "", version: opset }];
  if (opset >= 21) model.irVersion = 10;
  const result = await quantizeModel(model, source(8, 4), createOrtExecutor, {
    ...DEFAULT_QUANTIZE_OPTIONS,
    ...options,
  });
  const ev = await evaluateQuantization(result, source(4, 4, 500), createOrtExecutor);
  return { result, cosine: ev.outputs[0]!.cosine, ev };
}

Deno.test("weights: ADMM and asymmetric weights, per channel and per tensor, run in ONNX Runtime", async () => {
  for (const perChannel of [true, false]) {
    for (const w of [{ weightMethod: "ADMM" }, { weightScheme: "asymmetric" }] as const) {
      const { result, cosine: c } = await cosine({ perChannel, ...w });
      assert.ok(c > 0.99, `${JSON.stringify(w)} perChannel ${perChannel}: ${c}`);
      const zeroPoints = [...result.rewrite.weightScales.values()].map((q) => q.zeroPoints !== undefined);
      assert.ok(zeroPoints.every((z) => z === ("weightScheme" in w)));
    }
  }
  await assert.rejects(cosine({ weightMethod: "ADMM", weightScheme: "asymmetric" }), /need weightMethod MAX_ABS/);
});

Deno.test("bits: 4-bit weights and activations use levels within ±7 and still track float roughly", async () => {
  const { result, cosine: c } = await cosine({ bits: 4, method: "MSE" });
  for (const q of result.rewrite.weightScales.values()) assert.ok(q.data.every((v) => v >= -7 && v <= 7));
  for (const p of result.params.values()) assert.deepEqual([p.qmin, p.qmax], [-7, 7]);
  assert.ok(c > 0.8 && c < 0.9999, `${c}`);
  const eight = await cosine({ method: "MSE" });
  assert.ok(eight.cosine > c, `8 bits ${eight.cosine} vs 4 bits ${c}`);
  await assert.rejects(cosine({ bits: 1 }), /bits must be an integer in \[2, 8\]/);
});

Deno.test("int16: named layers get int16 Q/DQ (com.microsoft below opset 21, standard at 21) and lose less", async () => {
  for (const opset of [13, 21]) {
    const narrow = await cosine({ bits: 4 }, opset);
    const { result, ev } = await cosine({ int16: ["relu1", "dwconv"], bits: 4 }, opset);
    const sixteen = [...result.int16];
    assert.ok(sixteen.includes("r1") && sixteen.includes("p1"), sixteen.join(",")); // relu1's output, shared by MaxPool
    for (const t of sixteen) assert.equal(result.params.get(t)!.dataType, DataType.INT16);
    const domains = new Set(result.quantized.graph.nodes.filter((n) => n.name === "r1:Q").map((n) => n.domain));
    assert.deepEqual([...domains], [opset >= 21 ? "" : "com.microsoft"]);
    assert.equal(opsetVersion(result.quantized), opset);
    const r1 = (e: typeof ev) => e.tensors.find((t) => t.tensor === "r1")!.cosine;
    assert.ok(r1(ev) > r1(narrow.ev), `r1: int16 ${r1(ev)} vs 4-bit ${r1(narrow.ev)}`);
  }
  await assert.rejects(cosine({ int16: ["nope"] }), /The int16 list names "nope"/);
});

Deno.test("cross-layer equalization: per-tensor weights on the MobileNetV2-like fixture get closer to float", async () => {
  const path = "calib-data/models/fmnist_mobilenet.onnx";
  const model = decodeModel(await Deno.readFile(path), path);
  const spec = { width: 28, height: 28, channels: 1, layout: "NCHW", mean: [0], std: [1] } as const;
  const calib = await imageFolderSource("calib-data/fmnist", "input", spec, { batchSize: 10, limit: 100 });
  const all = await imageFolderSource("calib-data/fmnist", "input", spec, { batchSize: 50 });
  const outputCosine = async (crossLayerEqualization: boolean) => {
    const result = await quantizeModel(model, calib.source, createOrtExecutor, {
      ...DEFAULT_QUANTIZE_OPTIONS,
      perChannel: false,
      crossLayerEqualization,
    });
    const ev = await evaluateQuantization(result, all.source, createOrtExecutor, { tensors: false });
    return { result, cosine: ev.outputs[0]!.cosine };
  };
  const plain = await outputCosine(false);
  const cle = await outputCosine(true);
  assert.ok(cle.result.equalization!.pairs.length >= 8);
  assert.ok(cle.cosine > plain.cosine, `with CLE ${cle.cosine}, without ${plain.cosine}`);
});

Deno.test("bias correction: the quantized layers' per-channel output means move to the float ones", async () => {
  const options: Partial<QuantizeOptions> = { bits: 4, method: "MINMAX" };
  const base = await cosine(options);
  const corrected = await cosine({ ...options, biasCorrection: true });
  assert.ok(corrected.result.biasCorrection!.size >= 2);
  // mean |E[float] − E[quantized]| of conv1's output channels, on fresh data
  const meanGap = async (result: typeof base.result) => {
    const f = await runModel(encodeModel(exposeTensors(result.prepared, ["c1"])), toyBatch(900, 32), ["c1"]);
    const q = await runModel(encodeModel(exposeTensors(result.quantized, ["c1"])), toyBatch(900, 32), ["c1"]);
    const a = f.get("c1")!.data, b = q.get("c1")!.data;
    const per = 64, channels = 4;
    let gap = 0;
    for (let c = 0; c < channels; c++) {
      let d = 0;
      for (let n = 0; n < 32; n++) {
        for (let i = 0; i < per; i++) d += a[(n * channels + c) * per + i]! - b[(n * channels + c) * per + i]!;
      }
      gap += Math.abs(d / (32 * per));
    }
    return gap / channels;
  };
  const before = await meanGap(base.result), after = await meanGap(corrected.result);
  assert.ok(after < before / 2, `mean gap ${before} → ${after}`);
});
