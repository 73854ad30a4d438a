// The per-layer debug report end to end on the Fashion-MNIST fixtures: its per-tensor cosine
// against an independent computation from ONNX Runtime, a deliberately mis-scaled layer ranked
// first by `deno task debug`, and `deno task quant --report`.
import assert from "node:assert/strict";
import { runCli } from "./_cli.ts";
import { runModel } from "./_ort_compare.ts";
import { cloneModel, decodeModel, encodeModel } from "../core/onnx/model.ts";
import { DEFAULT_QUANTIZE_OPTIONS, qdqTensorName, quantizeModel, type QuantizeResult } from "../core/pipeline.ts";
import { exposeTensors } from "../core/quant/calibrate.ts";
import { rewriteToQdq } from "../core/quant/rewrite.ts";
import type { QuantParams } from "../core/quant/params.ts";
import { cosineSimilarity } from "../core/metrics/similarity.ts";
import { runDebug } from "../core/debug/run.ts";
import { validateDebugReport } from "../core/report/schema.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { imageFolderSource } from "../cli/source.ts";
import { BENCH_MODELS } from "../bench/fixtures.ts";

const resnet = BENCH_MODELS.find((b) => b.name === "fmnist_resnet")!;

async function quantizeResnet(limit: number): Promise<QuantizeResult> {
  const model = decodeModel(await Deno.readFile(resnet.path), resnet.path);
  const calib = await imageFolderSource(resnet.calib, resnet.input, resnet.spec, { batchSize: 8, limit });
  return await quantizeModel(model, calib.source, createOrtExecutor, DEFAULT_QUANTIZE_OPTIONS);
}

Deno.test("debug report: per-tensor cosine of the simulated model = float vs QDQ model in ONNX Runtime (±1e-3)", async () => {
  const result = await quantizeResnet(64);
  const samples = 16;
  const { source } = await imageFolderSource(resnet.calib, resnet.input, resnet.spec, { batchSize: 8, limit: samples });
  const report = await runDebug(
    {
      float: result.prepared,
      quantized: result.quantized,
      names: { model: "m", quantized: "q", source: "s", runtime: "ort" },
    },
    source,
    createOrtExecutor,
    { tensorSamples: samples, sensitivitySamples: 2, symmetricClamp: 127 },
  );
  assert.deepEqual(validateDebugReport(report), []);
  assert.equal(report.tensors.length, result.plan.quantized.length); // the graph output included
  assert.equal(report.unmatched.length, 0);

  // Independently: both models whole in ONNX Runtime, every quantized tensor exposed, MNN's cosine per sample.
  const names = report.tensors.map((t) => t.tensor).filter((t) => t !== resnet.input);
  const float = encodeModel(exposeTensors(result.prepared, names));
  const qdqNames = names.map((t) => qdqTensorName(result.plan, t));
  const qdq = encodeModel(exposeTensors(result.quantized, qdqNames));
  const sums = new Map<string, number>();
  for await (const batch of source()) {
    const f = await runModel(float, batch.feeds, names);
    const q = await runModel(qdq, batch.feeds, qdqNames);
    names.forEach((t, i) => {
      const a = f.get(t)!.data, b = q.get(qdqNames[i]!)!.data, per = a.length / batch.size;
      for (let s = 0; s < batch.size; s++) {
        sums.set(t, (sums.get(t) ?? 0) + cosineSimilarity(a, b, s * per, (s + 1) * per) / samples);
      }
    });
  }
  let worst = 0;
  for (const t of names) {
    const reported = report.tensors.find((e) => e.tensor === t)!.cosine;
    worst = Math.max(worst, Math.abs(reported - sums.get(t)!));
  }
  assert.ok(worst <= 1e-3, `largest cosine difference ${worst}`);
  assert.ok(report.tensors.some((t) => t.cosine < 0.9999), "int8 differs from float somewhere");
});

Deno.test("deno task debug: a layer with its range forced 20× too small is ranked first, with a fix", async () => {
  const result = await quantizeResnet(64);
  // The mis-scaled fixture: one mid-network activation's clamp forced small (scale ÷ 20).
  const target = result.plan.calibrated[Math.floor(result.plan.calibrated.length / 2)]!;
  const params = new Map<string, QuantParams>(result.params);
  const broken = { ...result.params.get(target)!, scale: result.params.get(target)!.scale / 20 };
  for (const t of result.plan.quantized) {
    if (t === target || result.plan.shared.get(t) === target) params.set(t, broken);
  }
  const model = cloneModel(result.prepared);
  rewriteToQdq(model, result.plan, params, { clamp: 127 });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/mis.onnx`, encodeModel(model));
    const r = await runCli("cli/debug.ts", [
      "--model",
      resnet.path,
      "--quantized",
      `${dir}/mis.onnx`,
      "--data",
      resnet.calib,
      "--limit",
      "32",
      "--report",
      `${dir}/mis.html`,
      "--json",
      `${dir}/mis.json`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(await Deno.readTextFile(`${dir}/mis.json`));
    assert.deepEqual(validateDebugReport(report), []);
    assert.equal(report.ranking.by, "sensitivity");
    const first = report.tensors[report.ranking.order[0]];
    assert.equal(first.tensor, target);
    assert.ok(first.saturationHigh + first.saturationLow > 0.01, `saturation ${first.saturationHigh}`);
    assert.ok(first.advice.some((a: { action: string }) => a.action === "switch-method"), JSON.stringify(first.advice));
    // The terminal names it first and says what to do.
    const table = r.stdout.split("Worst ")[1]!.split("\n");
    assert.match(table[2]!, new RegExp(`^  ${target.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s`));
    assert.match(r.stdout, new RegExp(`${target.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: .*clipped.*--method MINMAX`));
    assert.ok((await Deno.stat(`${dir}/mis.html`)).size > 50_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('deno task quant --report writes the HTML page and the debug report under "debug"', async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runCli("cli/quant.ts", [
      "--model",
      resnet.path,
      "--calib",
      resnet.calib,
      "--limit",
      "24",
      "--out",
      `${dir}/m.int8.onnx`,
      "--report",
      `${dir}/m.html`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Worst 5 of \d+ tensors/);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/m.int8.report.json`));
    assert.equal(json.schema, "int8-toolchain/quantize-report@1");
    assert.deepEqual(validateDebugReport(json.debug), []);
    assert.equal(json.debug.outputs[0].samples, 24); // the quant run's own evaluation, reused
    assert.equal(json.debug.tensors.length, json.plan.quantizedTensors);
    const html = await Deno.readTextFile(`${dir}/m.html`);
    assert.match(html, /^<!doctype html>/);
    assert.equal(html.match(/<details class="layer"/g)?.length, json.debug.tensors.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
