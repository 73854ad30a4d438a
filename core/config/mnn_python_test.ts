import assert from "node:assert/strict";
import { parseMnnPythonYaml } from "./mnn_python.ts";

Deno.test("MNN Python config.yaml: inputs in order, formats, EMA with its batch default", () => {
  const c = parseMnnPythonYaml(
    "inputs:\n  names: ['a', 'b']\n  shapes: [[1, 3, 8, 8], [1, 4]]\n  formats: ['nhwc', 'NC4HW4']\noutput_names: ['y']\n",
    "config.yaml",
  );
  assert.deepEqual(c.inputs.map((i) => i.name?.value), ["a", "b"]);
  assert.deepEqual(c.inputs.map((i) => i.layout?.value), ["NHWC", "NCHW"]);
  assert.deepEqual(c.inputs[0]?.shape?.value, [null, 3, 8, 8]);
  assert.deepEqual([c.options.method, c.options.scheme, c.batchSize], ["EMA", "asymmetric-uint8", 32]);
  assert.equal(c.outputs[0]?.at.line, 5);
});

Deno.test("MNN Python config.yaml: list length mismatch and wrong format name the key and line", () => {
  assert.throws(
    () => parseMnnPythonYaml("inputs:\n  names: [a, b]\n  shapes: [[1, 4]]\n", "c.yaml"),
    /c\.yaml line 3: inputs\.shapes: has 1 entries but inputs\.names has 2/,
  );
  assert.throws(
    () => parseMnnPythonYaml("inputs:\n  names: [a]\n  formats: [nwhc]\n", "c.yaml"),
    /c\.yaml line 3: inputs\.formats\[0\]: expected "nchw" or "nhwc" or "nc4hw4", got "nwhc"/,
  );
});
