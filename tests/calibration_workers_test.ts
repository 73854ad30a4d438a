// Calibration with histogram workers through the whole pipeline in ONNX Runtime: the same ranges
// and parameters as on the main thread for every method (toy CNN and the PaddleOCR classifier),
// the same NaN report, and every runtime output freed as soon as it has been observed.
import assert from "node:assert/strict";
import { calibrators } from "../core/calib/mod.ts";
import type { ExecutorFactory, HostTensor } from "../core/exec/executor.ts";
import { decodeModel } from "../core/onnx/model.ts";
import { DEFAULT_QUANTIZE_OPTIONS, quantizeModel, type QuantizeOptions } from "../core/pipeline.ts";
import type { BatchSource } from "../core/quant/calibrate.ts";
import { toyBatch, toyModel } from "../core/quant/_toy_test_util.ts";
import { createOrtExecutor } from "../targets/ort.ts";
import { spawnCalibrationWorker } from "../cli/calibration_worker.ts";
import { imageFolderSource } from "../cli/source.ts";
import { BENCH_MODELS } from "../bench/fixtures.ts";

const host = { spawnCalibrationWorker };
const toySource = (batches: number, size: number): BatchSource =>
  async function* () {
    for (let i = 0; i < batches; i++) yield { feeds: toyBatch(100 + i, size), size };
  };

/** Every method, KL also with MNN's two passes. */
const VARIANTS: Partial<QuantizeOptions>[] = [
  ...Object.keys(calibrators).map((method) => ({ method })),
  { method: "KL", methodOptions: { klPasses: 2 } },
];

/**
 * Quantizes with 0, 1 and 2 workers and with the default (`defaultWorkers` expected: a worker only
 * for large batches); every run must give the same ranges and parameters.
 */
async function sameWithAndWithoutWorkers(
  model: ReturnType<typeof toyModel>,
  source: BatchSource,
  variant: Partial<QuantizeOptions>,
  defaultWorkers: number,
): Promise<void> {
  const run = (calibrationWorkers: number | undefined) =>
    quantizeModel(
      model,
      source,
      createOrtExecutor,
      {
        ...DEFAULT_QUANTIZE_OPTIONS,
        ...variant,
        ...(calibrationWorkers === undefined ? {} : { calibrationWorkers }),
      },
      undefined,
      host,
    );
  const inline = await run(0);
  assert.equal(inline.calibrationWorkers, 0);
  const byDefault = await run(undefined);
  assert.deepEqual(byDefault.ranges, inline.ranges);
  assert.equal(byDefault.calibrationWorkers, defaultWorkers, `${JSON.stringify(variant)}: workers by default`);
  for (const workers of [1, 2]) {
    const parallel = await run(workers);
    const label = `${JSON.stringify(variant)}, ${workers} workers`;
    assert.deepEqual(parallel.ranges, inline.ranges, label);
    assert.deepEqual(parallel.params, inline.params, label);
    // range-only methods (MINMAX, EMA) never need a worker
    assert.equal(parallel.calibrationWorkers, parallel.calibrationPerPass.some((p) => p.values > 0) ? workers : 0);
  }
}

Deno.test("calibration workers: every method gives the same ranges on the toy CNN (batch 3)", async () => {
  // a few thousand values per batch: too few for a worker by default
  for (const variant of VARIANTS) await sameWithAndWithoutWorkers(toyModel(), toySource(6, 3), variant, 0);
});

Deno.test("calibration workers: KL, PERCENTILE and MSE give the same ranges on the PaddleOCR classifier", async () => {
  const path = "calib-data/models/ppocr_cls.onnx";
  const model = decodeModel(await Deno.readFile(path), path);
  const spec = BENCH_MODELS.find((m) => m.name === "ppocr_cls")!.spec;
  const { source } = await imageFolderSource("calib-data/ocr-lines", "x", spec, { batchSize: 2, limit: 12 });
  // 2 × 2.2 million values per batch: a worker by default
  for (const method of ["KL", "PERCENTILE", "MSE"]) await sameWithAndWithoutWorkers(model, source, { method }, 1);
});

Deno.test("calibration workers: a NaN is reported as on the main thread", async () => {
  // 1e38 fits float32 at the input, but the first convolution overflows to ±Inf: a value tensor
  const badSource: BatchSource = async function* () {
    yield { feeds: toyBatch(1, 2), size: 2 };
    const bad = toyBatch(2, 2);
    bad.x.data.fill(1e38, 64, 128); // sample 1 of the second batch → sample index 3
    yield { feeds: bad, size: 2 };
  };
  const messages: string[] = [];
  for (const calibrationWorkers of [0, 1]) {
    const options = { ...DEFAULT_QUANTIZE_OPTIONS, method: "KL", calibrationWorkers };
    const error = await quantizeModel(toyModel(), badSource, createOrtExecutor, options, undefined, host).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(error);
    messages.push(error.message);
  }
  assert.match(messages[0]!, /Tensor "g" holds Inf on calibration sample 3/); // GlobalAveragePool sums to Inf
  assert.equal(messages[1], messages[0]);
});

Deno.test("calibration workers: every value tensor's buffer is freed once observed, with and without workers", async () => {
  for (const calibrationWorkers of [0, 1]) {
    const outputs: HostTensor[] = [];
    const recording: ExecutorFactory = async (bytes, options) => {
      const exec = await createOrtExecutor(bytes, options);
      return {
        ...exec,
        async run(feeds, names) {
          const result = await exec.run(feeds, names);
          outputs.push(...result.values());
          return result;
        },
      };
    };
    const options = { ...DEFAULT_QUANTIZE_OPTIONS, method: "PERCENTILE", calibrationWorkers };
    const result = await quantizeModel(toyModel(), toySource(3, 2), recording, options, undefined, host);
    const values = result.calibrationPerPass[0]!.values;
    assert.ok(values > 3);
    // the first batch also returns the in-graph ranges (3 per range tensor); value outputs are all detached
    const freed = outputs.filter((o) => o.data.buffer.byteLength === 0).length;
    assert.equal(freed, 3 * values, `workers ${calibrationWorkers}`);
  }
});

Deno.test("quantizeModel: calibrationWorkers without a way to start workers is an error", async () => {
  const options = { ...DEFAULT_QUANTIZE_OPTIONS, calibrationWorkers: 1 };
  await assert.rejects(
    quantizeModel(toyModel(), toySource(1, 1), createOrtExecutor, options),
    /calibrationWorkers is 1 but the host cannot start workers/,
  );
});
