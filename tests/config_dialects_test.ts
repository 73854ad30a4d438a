// One test per dialect: the dialect's own file (calib-data/configs/), a tiny model and data → the same
// quantization parameters as the equivalent quant.yaml beside it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeModel } from "../core/onnx/model.ts";
import { quantizeModel, type QuantizeOptions } from "../core/pipeline.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { buildJob, type JobOverrides } from "../cli/config/job.ts";
import { loadConfigFile } from "../cli/config/load.ts";
import { listDir, runCli } from "./_cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const CONFIGS = join(ROOT, "calib-data/configs");
const MODELS = join(ROOT, "calib-data/models");

interface Run {
  dialect: string;
  options: QuantizeOptions;
  samples: number | undefined;
  params: Map<string, { scale: number; zeroPoint: number }>;
}

async function quantizeWith(config: string, model: string, overrides: JobOverrides = {}): Promise<Run> {
  const loaded = await loadConfigFile(join(CONFIGS, config));
  const m = decodeModel(await Deno.readFile(join(MODELS, model)), model);
  const job = await buildJob(m, loaded.config, loaded.dir, overrides);
  const result = await quantizeModel(m, job.source, createOrtExecutor, job.options);
  const params = new Map([...result.params].map(([t, p]) => [t, { scale: p.scale, zeroPoint: p.zeroPoint }]));
  return { dialect: loaded.config.dialect, options: job.options, samples: job.samples, params };
}

function assertSameParams(a: Run, b: Run): void {
  assert.deepEqual([...a.params.keys()].sort(), [...b.params.keys()].sort());
  assert.ok(a.params.size > 0);
  for (const [t, p] of a.params) {
    const q = b.params.get(t)!;
    assert.ok(Math.abs(p.scale - q.scale) <= 1e-6 * Math.abs(q.scale), `${t}: scale ${p.scale} vs ${q.scale}`);
    assert.equal(p.zeroPoint, q.zeroPoint, t);
  }
  const norm = (o: QuantizeOptions) => ({ ...o, skip: [...o.skip].sort() });
  assert.deepEqual(norm(a.options), norm(b.options));
  // A dataset module that is a generator function does not tell its length up front.
  if (a.samples !== undefined && b.samples !== undefined) assert.equal(a.samples, b.samples);
}

Deno.test("MNN imageInputConfig.json (every key of the table) = its quant.yaml", async () => {
  const mnn = await quantizeWith("mnn_json/imageInputConfig.json", "two_input_image.onnx");
  const ours = await quantizeWith("mnn_json/quant.yaml", "two_input_image.onnx");
  assert.equal(mnn.dialect, "mnn-json");
  assert.deepEqual([mnn.samples, mnn.options.featureClamp, mnn.options.skip], [6, 120, ["/head/Gemm"]]);
  assertSameParams(mnn, ours);
});

Deno.test("MNN Python config.yaml + calibration_dataset.ts = quant.yaml with the two 610 files (two-input model)", async () => {
  const py = await quantizeWith("mnn_python/config.yaml", "two_input.onnx");
  const ours = await quantizeWith("mnn_python/quant.yaml", "two_input.onnx");
  assert.equal(py.dialect, "mnn-python");
  assert.deepEqual([py.options.method, py.options.scheme, py.options.methodOptions.emaBatchSize], [
    "EMA",
    "asymmetric-uint8",
    32,
  ]);
  assertSameParams(py, ours);
  // And with KL at batch size 1 (per-sample shapes), the two sources still agree.
  const o = { method: "KL", batch: 1 };
  assertSameParams(
    await quantizeWith("mnn_python/config.yaml", "two_input.onnx", o),
    await quantizeWith("mnn_python/quant.yaml", "two_input.onnx", o),
  );
});

Deno.test("no-training config.prototxt (IMAGE + BINARY, exclude_op by weight) = its quant.yaml", async () => {
  const proto = await quantizeWith("notrain/config.prototxt", "two_input.onnx");
  const ours = await quantizeWith("notrain/quant.yaml", "two_input.onnx");
  assert.equal(proto.dialect, "notrain-prototxt");
  assert.deepEqual([...proto.options.skip].sort(), ["/head/Gemm", "/image/conv2/Conv", "/vector/Gemm"]);
  assertSameParams(proto, ours);
});

Deno.test("Sophon auto_calib arguments (data_preproccess_str, ImageList.txt, input_data_shape) = its quant.yaml", async () => {
  const sophon = await quantizeWith("auto_calib/calib_classify.sh", "two_input_image.onnx");
  const ours = await quantizeWith("auto_calib/quant.yaml", "two_input_image.onnx");
  assert.equal(sophon.dialect, "auto-calib");
  assert.equal(sophon.samples, 5);
  assertSameParams(sophon, ours);
});

Deno.test("CLI: the two-input model quantizes from the dataset module and from two 610 files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const config of ["mnn_python/config.yaml", "mnn_python/quant.yaml"]) {
      const out = join(dir, config.replace(/\W/g, "_") + ".onnx");
      const r = await runCli("cli/quant.ts", [
        "--config",
        join(CONFIGS, config),
        "--model",
        join(MODELS, "two_input.onnx"),
        "--out",
        out,
        "--method",
        "minmax",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /MINMAX activations \(asymmetric-uint8.*8 calibration images/);
      const report = JSON.parse(await Deno.readTextFile(out.replace(/\.onnx$/, ".report.json")));
      assert.equal(report.calibration.samples, 8);
      assert.match(
        report.calibration.source,
        config.endsWith(".yaml") && config.includes("quant") ? /image\.bin/ : /calibration_dataset\.ts/,
      );
    }
    assert.equal((await listDir(dir)).length, 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
