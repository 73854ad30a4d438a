import assert from "node:assert/strict";
import { validateDebugReport } from "./schema.ts";
import { sampleReport, sampleTensor } from "./_report_test_util.ts";

Deno.test("validateDebugReport: a well-formed report (and its JSON round trip) conforms", () => {
  const report = sampleReport();
  assert.deepEqual(validateDebugReport(report), []);
  assert.deepEqual(validateDebugReport(JSON.parse(JSON.stringify(report))), []);
  assert.deepEqual(
    validateDebugReport({ ...report, sensitivity: null, tensors: [sampleTensor(0, { sensitivity: null })] }),
    [],
  );
});

Deno.test("validateDebugReport: names the path of every problem", () => {
  const report = JSON.parse(JSON.stringify(sampleReport()));
  report.schema = "int8-toolchain/debug-report@0";
  delete report.tensors[1].cosine;
  report.tensors[2].sqnrDb = "35";
  report.tensors[0].advice = [{ action: "reboot", message: "x" }];
  report.ranking.by = "size";
  const errors = validateDebugReport(report);
  assert.deepEqual(errors, [
    '$.schema: expected "int8-toolchain/debug-report@1", got "int8-toolchain/debug-report@0"',
    '$.tensors[0].advice[0].action: "reboot" is not one of ["skip","switch-method","more-bits","per-channel","check-input"]',
    '$.tensors[1]: missing key "cosine"',
    "$.tensors[2].sqnrDb: expected number or null, got string",
    '$.ranking.by: "size" is not one of ["sensitivity","cosine"]',
  ]);
  // NaN would be written as null by JSON.stringify: refused before it gets there.
  assert.deepEqual(validateDebugReport({ ...sampleReport(), tensors: [sampleTensor(0, { cosine: NaN })] }), [
    "$.tensors[0].cosine: NaN is not a finite number",
  ]);
});

Deno.test("validateDebugReport: the device section is optional, null, or complete", () => {
  const device = {
    url: "ssh://pi@127.0.0.1:2222",
    target: "arm64",
    arch: "aarch64",
    cpuModel: "Cortex-A76",
    cores: 4,
    os: "Linux 6.1",
    runtime: "onnxruntime 1.30.0 (int8-runner/1)",
    threads: 1,
    warmup: 3,
    runs: 20,
    latencyUs: { min: 900, median: 1000, p90: 1100, max: 1500, mean: 1020 },
    cycles: null,
    transfer: { pushMs: 12, runMs: 800, pullMs: 5, bytesPushed: 70_000, bytesPulled: 4_000 },
  };
  assert.deepEqual(validateDebugReport({ ...sampleReport(), device }), []);
  assert.deepEqual(validateDebugReport({ ...sampleReport(), device: null }), []);
  const { latencyUs: _, ...partial } = device;
  assert.deepEqual(validateDebugReport({ ...sampleReport(), device: { ...partial, cores: "4" } }), [
    '$.device: missing key "latencyUs"',
    "$.device.cores: expected number or null, got string",
  ]);
});
