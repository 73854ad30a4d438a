import assert from "node:assert/strict";
import { parseNotrainPrototxt } from "./notrain.ts";

const IMAGE = (extra: string) =>
  `strategy: "Quant_INT8-8"\ndevice: USE_CPU\npreprocess_parameter:\n{\n  input_type: IMAGE\n${extra}  input_file_path: "imgs/"\n}\n`;

Deno.test("notrain prototxt: the seed's BINARY example, several blocks and both exclude_op forms", () => {
  const c = parseNotrainPrototxt(
    'strategy: "Quant_INT8-8"\ndevice: USE_GPU\n// 多输入场景提供不同的bin文件\npreprocess_parameter:\n{\n' +
      '    input_type: BINARY\n    input_file_path: "a.bin"\n}\npreprocess_parameter:\n{\n    input_type: BINARY\n' +
      '    input_file_path: "b.bin"\n}\nexclude_op:  "conv1"\nexclude_op:  "conv2;conv3"\n',
    "config.prototxt",
  );
  assert.deepEqual(c.inputs.map((i) => [i.source?.kind, i.source?.path.value]), [["tensors", "a.bin"], [
    "tensors",
    "b.bin",
  ]]);
  assert.deepEqual(c.skip.map((s) => [s.value, s.at.line]), [["conv1", 14], ["conv2", 15], ["conv3", 15]]);
  assert.ok(c.skipMayNameWeights);
  assert.match(c.notes[0]!, /USE_GPU/);
});

Deno.test("notrain prototxt: IMAGE defaults (BGR, mean 0, std 0 = no division) and (image − mean) / std", () => {
  const plain = parseNotrainPrototxt(IMAGE(""), "c.prototxt");
  assert.deepEqual(plain.inputs[0]?.image?.pipeline, {
    steps: [{ op: "color", to: "BGR" }, { op: "affine", mean: [0], scale: [1] }],
    fit: "half-pixel",
  });
  const c = parseNotrainPrototxt(
    IMAGE("  image_format: RGB\n  mean_value: 1\n  mean_value: 2\n  mean_value: 3\n  standard_deviation: 4\n"),
    "c.prototxt",
  );
  assert.deepEqual(c.inputs[0]?.image?.pipeline.steps, [
    { op: "color", to: "RGB" },
    { op: "affine", mean: [1, 2, 3], scale: [0.25] },
  ]);
});

Deno.test("notrain prototxt: bad values name the line", () => {
  const cases: [string, RegExp][] = [
    [
      IMAGE("  mean_value: 1\n  mean_value: 2\n"),
      /c\.prototxt line 7: preprocess_parameter\[0\]\.mean_value: has 2 values but the input's C is 3/,
    ],
    [
      IMAGE("  standard_deviation: -0.5\n"),
      /c\.prototxt line 6: preprocess_parameter\[0\]\.standard_deviation: must be ≥ 0, got -0\.5/,
    ],
    [
      IMAGE("  image_format: YUV\n"),
      /c\.prototxt line 6: preprocess_parameter\.image_format: expected BGR or RGB, got YUV/,
    ],
    [IMAGE('  mean_value: "1"\n'), /line 6: preprocess_parameter\.mean_value: expected a number/],
    [IMAGE("  scale: 2\n"), /c\.prototxt line 6: preprocess_parameter\.scale: unknown field/],
    [IMAGE("") + 'strategy: "Quant_INT4"\n', /c\.prototxt line 8: strategy: expected Quant_INT8-8, got Quant_INT4/],
    [
      IMAGE("") + "preprocess_parameter {\n  input_type: IMAGE\n}\n",
      /line 8: preprocess_parameter\[1\]\.input_file_path: is required/,
    ],
    [
      'strategy: "Quant_INT8-8"\npreprocess_parameter {\n  input_type: IMAGE\n  input_file_path: "x"\n',
      /c\.prototxt line 5: syntax error: expected "}"/,
    ],
    [
      'device: USE_TPU\npreprocess_parameter { input_file_path: "x" }\n',
      /c\.prototxt line 1: device: expected USE_GPU or USE_CPU, got USE_TPU/,
    ],
    ['exclude_op: ";"\npreprocess_parameter { input_file_path: "x" }\n', /c\.prototxt line 1: exclude_op: names no op/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => parseNotrainPrototxt(text, "c.prototxt"), (e: Error) => {
      assert.match(e.message, pattern, text);
      return true;
    });
  }
});
