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
