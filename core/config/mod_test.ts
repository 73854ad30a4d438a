import assert from "node:assert/strict";
import { detectDialect, parseConfig } from "./mod.ts";

Deno.test("dialects are recognised from the content, whatever the file is called", () => {
  const cases: [string, string][] = [
    ['{\n\t"format":"RGB",\n\t"path":"imgs/"\n}\n', "mnn-json"],
    ["format: RGB\npath: imgs/\n", "mnn-json"],
    ["inputs:\n  names: ['input', ]\n  shapes: [[1, 3, 224, 224], ]\noutput_names:\n  ['out', ]\n", "mnn-python"],
    ['strategy: "Quant_INT8-8"\npreprocess_parameter:\n{\n  input_file_path: "a"\n}\n', "notrain-prototxt"],
    ["python3 calib.py --calib_image_source=a --data_preproccess_str='scale=1'", "auto-calib"],
    ["inputs:\n  - tensors: a.npy\n", "quant-yaml"],
    ["dataset: calibration_dataset.ts\n", "quant-yaml"],
  ];
  for (const [text, dialect] of cases) {
    assert.equal(detectDialect(text, "config.txt"), dialect, text);
    assert.equal(parseConfig(text, "config.txt").dialect, dialect);
  }
  assert.throws(() => detectDialect("", "e.yaml"), /e\.yaml line 1: the config file is empty/);
  assert.throws(() => detectDialect("- a\n- b\n", "l.yaml"), /cannot tell the config dialect/);
});
