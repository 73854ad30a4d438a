import assert from "node:assert/strict";
import { createCalibrator } from "../calib/mod.ts";
import type { CalibrationRange } from "../calib/types.ts";
import { laplaceSamples, mulberry32 } from "../calib/_test_rng.ts";
import {
  CALIBRATION_WORKER_MODULE,
  CalibrationWorkers,
  type CalibratorSpec,
  releaseBuffer,
  type WorkerFailure,
} from "./calibration_workers.ts";

const spawn = () => new Worker(CALIBRATION_WORKER_MODULE, { type: "module" });
const failureError = (f: WorkerFailure) =>
  new Error(
    `${f.tensor}: ${f.message}${
      f.nonFinite ? ` @${f.nonFinite.samplesBefore}+${f.nonFinite.error.index}/${f.nonFinite.perSample}` : ""
    }`,
  );

/** Tensors with their specs: every histogram method, KL with both pass counts and a small-tensor fallback. */
const TENSORS: { name: string; spec: CalibratorSpec; size: number; scale: number }[] = [
  { name: "kl1", spec: { method: "KL", options: { clamp: 127, shape: [1, 4, 16, 16] } }, size: 1024, scale: 1 },
  {
    name: "kl2",
    spec: { method: "KL", options: { clamp: 127, shape: [1, 4, 16, 16], klPasses: 2 } },
    size: 1024,
    scale: 3,
  },
  { name: "klSmall", spec: { method: "KL", options: { clamp: 127, shape: [1, 64, 4, 4] } }, size: 1024, scale: 0.5 },
  { name: "pct", spec: { method: "PERCENTILE", options: { clamp: 127, percentile: 99.9 } }, size: 777, scale: 2 },
  { name: "mse", spec: { method: "MSE", options: { clamp: 127 } }, size: 2048, scale: 0.1 },
  { name: "admm", spec: { method: "ADMM", options: { clamp: 127 } }, size: 300, scale: 7 },
];

/** Batch `b` of tensor `t`: Laplacian values whose scale grows, so that histograms re-bin on the way. */
function batchValues(t: number, b: number): Float32Array {
  const { size, scale } = TENSORS[t]!;
  return laplaceSamples(mulberry32(1000 * t + b), size, scale * (1 + b / 2));
}

function minMaxRows(values: Float32Array, rows: number): { mins: Float32Array; maxs: Float32Array } {
  const mins = new Float32Array(rows).fill(Infinity), maxs = new Float32Array(rows).fill(-Infinity);
  const perRow = values.length / rows;
  values.forEach((v, i) => {
    const r = Math.floor(i / perRow);
    mins[r] = Math.min(mins[r]!, v);
    maxs[r] = Math.max(maxs[r]!, v);
  });
  return { mins, maxs };
}

/** Feeds every tensor's batches through `observe` as the driver does: pass by pass, ranges where asked. */
async function feed(
  calibrators: ReturnType<typeof createCalibrator>[],
  batches: number,
  between: (samplesBefore: number) => void | Promise<void>,
  after: () => void | Promise<void>,
): Promise<void> {
  const passes = Math.max(...calibrators.map((c) => c.passes));
  for (let pass = 0; pass < passes; pass++) {
    for (let b = 0; b < batches; b++) {
      await between(2 * b);
      calibrators.forEach((c, t) => {
        if (c.passes <= pass) return;
        const input = c.passInput?.(pass) ?? "values";
        const values = batchValues(t, b);
        if (input === "ranges") {
          const { mins, maxs } = minMaxRows(values, 2);
          c.observeRanges!(pass, mins, maxs);
        } else if (input === "values") {
          // every other batch as a view into a larger buffer (copied to the worker, not moved)
          const view = b % 2 === 1 ? new Float32Array([9, ...values, 9]).subarray(1, values.length + 1) : values;
          c.observe(pass, view);
        }
      });
      await after();
    }
  }
}

for (const count of [1, 2]) {
  Deno.test(`CalibrationWorkers (${count}): the same ranges as on the main thread, bit for bit`, async () => {
    const local = TENSORS.map((t) => createCalibrator(t.spec.method, t.spec.options));
    await feed(local, 6, () => {}, () => {});
    const expected: CalibrationRange[] = local.map((c) => c.range());

    const workers = new CalibrationWorkers(spawn, count, failureError);
    try {
      const remote = TENSORS.map((t, i) =>
        workers.add(t.name, i, t.spec, createCalibrator(t.spec.method, t.spec.options), t.size)
      );
      assert.equal(workers.started, count);
      assert.deepEqual(remote.map((c) => c.passes), local.map((c) => c.passes));
      assert.throws(() => remote[0]!.range(), /calibration has not finished/);
      await feed(remote, 6, (before) => workers.beginBatch(before, 2), () => workers.endBatch());
      await workers.finish();
      assert.deepEqual(remote.map((c) => c.range()), expected);
    } finally {
      workers.close();
    }
  });
}

Deno.test("CalibrationWorkers: a whole buffer is taken over at once, a view is copied", async () => {
  const workers = new CalibrationWorkers(spawn, 1, failureError);
  try {
    const spec: CalibratorSpec = { method: "PERCENTILE", options: { clamp: 127 } };
    const c = workers.add("t", 0, spec, createCalibrator(spec.method, spec.options), 8);
    workers.beginBatch(0, 1);
    const whole = new Float32Array([1, -2, 3, 0.5]);
    c.observe(0, whole);
    assert.equal(whole.length, 0, "the runtime's buffer is taken over at once");
    const parent = new Float32Array([7, 0.25, -4, 7]);
    c.observe(0, parent.subarray(1, 3));
    assert.deepEqual([...parent], [7, 0.25, -4, 7]);
    await workers.endBatch();
    await workers.finish();
    assert.deepEqual([c.range().observedMin, c.range().observedMax], [-4, 3]);
  } finally {
    workers.close();
  }
});

Deno.test("CalibrationWorkers: the first NaN by batch, then graph order, across workers", async () => {
  const workers = new CalibrationWorkers(spawn, 2, failureError);
  try {
    const spec: CalibratorSpec = { method: "MSE", options: { clamp: 127 } };
    // positions 0..3 alternate between the two workers
    const cs = [0, 1, 2, 3].map((i) => workers.add(`t${i}`, i, spec, createCalibrator(spec.method, spec.options), 4));
    const nanAt = new Map([["1:3", 2], ["1:2", 1], ["2:0", 0]]); // batch:tensor → index of the NaN
    let error: unknown;
    try {
      for (let b = 0; b < 3; b++) {
        workers.beginBatch(4 * b, 4);
        cs.forEach((c, t) => {
          const values = new Float32Array([0.5, 1, -1, 2]);
          const at = nanAt.get(`${b}:${t}`);
          if (at !== undefined) values[at] = NaN;
          c.observe(0, values);
        });
        await workers.endBatch();
      }
      await workers.settle();
    } catch (e) {
      error = e;
    }
    // batch 1 holds NaNs in t3 and t2: t2 comes first in graph order; batch 2's t0 comes later
    assert.ok(error instanceof Error);
    assert.match(error.message, /^t2: Cannot calibrate value at index 1: it is NaN @4\+1\/1$/);
  } finally {
    workers.close();
  }
});

Deno.test("CalibrationWorkers: a worker that cannot start fails the run instead of hanging", async () => {
  const broken = () => new Worker("data:text/javascript,throw new Error('no calibration here')", { type: "module" });
  const workers = new CalibrationWorkers(broken, 1, failureError);
  try {
    const spec: CalibratorSpec = { method: "KL", options: { clamp: 127 } };
    const c = workers.add("t", 0, spec, createCalibrator(spec.method, spec.options), 4);
    workers.beginBatch(0, 1);
    c.observe(0, new Float32Array([1, 2, 3, 4]));
    await assert.rejects(workers.finish(), /Calibration worker failed: .*no calibration here/);
  } finally {
    workers.close();
  }
});

Deno.test("releaseBuffer: frees whole buffers only", () => {
  const shared = new Float32Array(new SharedArrayBuffer(16));
  releaseBuffer(shared);
  assert.equal(shared.length, 4);
  const values = new Float32Array(4);
  releaseBuffer(values);
  releaseBuffer(values); // already detached: nothing to do
  assert.equal(values.length, 0);
});
