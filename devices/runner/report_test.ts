import assert from "node:assert/strict";
import { parseRunnerReport } from "./report.ts";

const GOOD = {
  runner: "int8-runner/1",
  ort: "1.30.0",
  threads: 2,
  warmup: 3,
  runs: 20,
  samples: 5,
  latencyUs: { min: 140.7, median: 147.1, p90: 154.4, max: 198.9, mean: 149.8 },
  outputs: [{ name: "logits", file: "0.npy", dtype: "float32", shape: [5, 10] }],
  device: { arch: "x86_64", cpuModel: "AMD EPYC", cores: 2, os: "Linux 6.1.0" },
};

Deno.test("parseRunnerReport returns every field of the contract", () => {
  assert.deepEqual(parseRunnerReport(JSON.stringify(GOOD) + "\n", "host"), GOOD);
  const unknown = { ...GOOD, device: { arch: null, cpuModel: null, cores: null, os: null } };
  assert.deepEqual(parseRunnerReport(JSON.stringify(unknown), "board").device, unknown.device);
});

Deno.test("parseRunnerReport refuses extra lines, bad JSON and missing fields, naming the run", () => {
  assert.throws(() => parseRunnerReport("hello\n" + JSON.stringify(GOOD), "b1"), /report of b1: expected one line/);
  assert.throws(() => parseRunnerReport("{", "b2"), /report of b2/);
  const noMedian = { ...GOOD, latencyUs: { ...GOOD.latencyUs, median: "fast" } };
  assert.throws(() => parseRunnerReport(JSON.stringify(noMedian), "b3"), /"latencyUs.median" is not a number/);
  const badShape = { ...GOOD, outputs: [{ ...GOOD.outputs[0], shape: [-1] }] };
  assert.throws(() => parseRunnerReport(JSON.stringify(badShape), "b4"), /outputs\[0\].shape/);
});
