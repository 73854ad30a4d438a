// The real pretrained PaddleOCR text-direction classifier (opset 9, Constant-node weights, 35
// unfused BatchNorms) quantized end to end through the CLI, then checked in ONNX Runtime.
import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";
import { runModel } from "./_ort_compare.ts";
import { cosineSimilarity } from "../core/metrics/similarity.ts";
import { decodeModel } from "../core/onnx/model.ts";
import { opsetVersion } from "../core/onnx/model.ts";
import { imageFolderSource } from "../cli/source.ts";

Deno.test("quant: PaddleOCR classifier → int8 QDQ that ONNX Runtime runs, output cosine ≥ 0.99", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/cls.int8.onnx`;
    const r = await runCli("cli/quant.ts", [
      "--model",
      "calib-data/models/ppocr_cls.onnx",
      "--calib",
      "calib-data/ocr-lines",
      "--input-shape",
      "1,3,48,192",
      "--mean",
      "0.5",
      "--std",
      "0.5",
      "--out",
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /softmax_0\.tmp_0 cosine/);
    assert.match(r.stdout, /Worst 5 tensors by cosine/);

    const report = JSON.parse(await Deno.readTextFile(`${dir}/cls.int8.report.json`));
    assert.equal(report.schema, "int8-toolchain/quantize-report@1");
    assert.equal(report.prepare.batchNormsFolded, 35);
    assert.equal(report.calibration.samples, 120);
    assert.ok(report.outputs[0].cosine >= 0.99, `report cosine ${report.outputs[0].cosine}`);
    assert.ok(report.tensors.length > 50);

    // Independently of the report: run both models in ORT on the bundled images.
    const bytes = await Deno.readFile(out);
    const model = decodeModel(bytes, out);
    assert.equal(opsetVersion(model), 13);
    assert.ok(model.graph.nodes.some((n) => n.opType === "QuantizeLinear"));
    const spec = { width: 192, height: 48, channels: 3 as const, layout: "NCHW" as const, mean: [0.5], std: [0.5] };
    const { source } = await imageFolderSource("calib-data/ocr-lines", "x", spec, { batchSize: 40 });
    const float = await Deno.readFile("calib-data/models/ppocr_cls.onnx");
    let cos = 0, n = 0, agree = 0;
    for await (const batch of source()) {
      const f = (await runModel(float, batch.feeds, ["softmax_0.tmp_0"])).get("softmax_0.tmp_0")!.data;
      const q = (await runModel(bytes, batch.feeds, ["softmax_0.tmp_0"])).get("softmax_0.tmp_0")!.data;
      for (let i = 0; i < batch.size; i++) {
        cos += cosineSimilarity(f, q, 2 * i, 2 * i + 2);
        if ((f[2 * i]! > f[2 * i + 1]!) === (q[2 * i]! > q[2 * i + 1]!)) agree++;
        n++;
      }
    }
    assert.equal(n, 120);
    assert.ok(cos / n >= 0.99, `ORT cosine ${cos / n}`);
    assert.ok(agree / n >= 0.95, `top-1 agreement ${agree / n}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
