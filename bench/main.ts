/**
 * `deno task bench`: measures the host pipeline on the fixture models and
 * prints tables (what was measured, on what). It never asserts a speed;
 * results also go to out/bench.json.
 *
 *   deno task bench [--models a,b] [--methods KL,MINMAX] [--skip-rss]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { decodeModel } from "../core/onnx/model.ts";
import { DEFAULT_QUANTIZE_OPTIONS, evaluateQuantization, quantizeModel } from "../core/pipeline.ts";
import type { BatchSource } from "../core/quant/calibrate.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { readIdxImages, readIdxLabels } from "../cli/idx.ts";
import { idxSource, imageFolderSource } from "../cli/source.ts";
import { writeFileAtomic } from "../cli/files.ts";
import { BENCH_MODELS, type BenchModel, FMNIST_DIR } from "./fixtures.ts";
import { formatTable } from "./table.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    models: { type: "string" },
    methods: { type: "string" },
    "skip-rss": { type: "boolean" },
  },
});
const methods = (values.methods ?? "KL,MINMAX").split(",").map((m) => m.trim().toUpperCase());
const models = values.models ? BENCH_MODELS.filter((m) => values.models!.split(",").includes(m.name)) : BENCH_MODELS;

const pct = (x: number | undefined) => x === undefined ? "–" : `${(x * 100).toFixed(2)} %`;
const results: Record<string, unknown>[] = [];

async function evaluationSource(m: BenchModel): Promise<{ source: BatchSource; what: string }> {
  if (m.evaluation === "fmnist-t10k") {
    const images = await readIdxImages(`${FMNIST_DIR}/t10k-images-idx3-ubyte.gz`);
    const labels = await readIdxLabels(`${FMNIST_DIR}/t10k-labels-idx1-ubyte.gz`);
    return { source: idxSource(images, labels, m.input, m.spec, { batchSize: 250 }), what: "10 000 t10k images" };
  }
  const { source, files } = await imageFolderSource(m.calib, m.input, m.spec, { batchSize: 20 });
  return { source, what: `${files.length} images of ${m.calib}` };
}

console.log(`# Host pipeline: quantize with each method, evaluate float vs int8 in ONNX Runtime (CPU, 1 thread)`);
console.log(
  `# machine: ${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}\n`,
);
for (const m of models) {
  const floatBytes = await Deno.readFile(m.path);
  const model = decodeModel(floatBytes, m.path);
  const calib = await imageFolderSource(m.calib, m.input, m.spec, { batchSize: 1 });
  const evaluation = await evaluationSource(m);
  const rows: string[][] = [];
  for (const method of methods) {
    const result = await quantizeModel(model, calib.source, createOrtExecutor, { ...DEFAULT_QUANTIZE_OPTIONS, method });
    const ev = await evaluateQuantization(result, evaluation.source, createOrtExecutor, { tensors: false });
    const out = ev.outputs.find((o) => o.output === m.output)!;
    const drop = out.floatAccuracy !== undefined ? (out.floatAccuracy - out.int8Accuracy!) * 100 : undefined;
    const ratio = result.quantizedBytes.byteLength / floatBytes.byteLength;
    rows.push([
      method,
      (result.timings.calibrate / 1000).toFixed(2),
      pct(out.floatAccuracy),
      pct(out.int8Accuracy),
      drop === undefined ? "–" : drop.toFixed(2),
      pct(out.top1Agreement),
      out.cosine.toFixed(5),
      `${(floatBytes.byteLength / 1e6).toFixed(3)} → ${(result.quantizedBytes.byteLength / 1e6).toFixed(3)}`,
      ratio.toFixed(3),
    ]);
    results.push({
      section: "host-pipeline",
      model: m.name,
      method,
      calibrationImages: result.calibrationSamples,
      calibrationSeconds: result.timings.calibrate / 1000,
      evaluation: evaluation.what,
      floatTop1: out.floatAccuracy,
      int8Top1: out.int8Accuracy,
      top1DropPoints: drop,
      top1Agreement: out.top1Agreement,
      outputCosine: out.cosine,
      floatBytes: floatBytes.byteLength,
      int8Bytes: result.quantizedBytes.byteLength,
      sizeRatio: ratio,
    });
  }
  console.log(
    `## ${m.name} (${m.path}); calibration: ${calib.files.length} images of ${m.calib}; evaluation: ${evaluation.what}`,
  );
  console.log(formatTable(
    [
      "method",
      "calib s",
      "float top-1",
      "int8 top-1",
      "drop pts",
      "agreement",
      "out cosine",
      "MB float → int8",
      "size ratio",
    ],
    rows,
  ));
  console.log();
}

if (!values["skip-rss"]) {
  const m = models.find((x) => x.evaluation === "fmnist-t10k") ?? BENCH_MODELS[1]!;
  console.log(
    `## Calibration memory: peak RSS of a fresh process calibrating ${m.name} (KL, batch 1) on N t10k images`,
  );
  const rows: string[][] = [];
  const peaks: number[] = [];
  for (const n of [100, 1000]) {
    const child = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./rss_child.ts", import.meta.url).pathname, m.name, String(n), "KL"],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const r = JSON.parse(new TextDecoder().decode(child.stdout));
    peaks.push(r.peakRssBytes);
    rows.push([String(r.samples), r.seconds.toFixed(2), (r.peakRssBytes / 2 ** 20).toFixed(1)]);
    results.push({ section: "calibration-memory", model: m.name, ...r });
  }
  console.log(formatTable(["images", "seconds", "peak RSS MiB"], rows));
  console.log(`peak RSS ratio 1000 / 100 images: ${(peaks[1]! / peaks[0]!).toFixed(3)}\n`);
}

await writeFileAtomic("out/bench.json", JSON.stringify({ date: new Date().toISOString(), results }, null, 2) + "\n");
console.log("wrote out/bench.json");
