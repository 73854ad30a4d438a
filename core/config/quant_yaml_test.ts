import assert from "node:assert/strict";
import { parseQuantYaml, quantYamlSchema } from "./quant_yaml.ts";

const BASE = "inputs:\n  - images: imgs/\n";

Deno.test("quant.yaml: every key maps onto the typed config", () => {
  const c = parseQuantYaml(
    `model: m.onnx
inputs:
  - name: image
    shape: [1, 3, -1, null]
    layout: NHWC
    images: imgs/
    preprocess:
      color: BGR
      crop_fraction: 0.875
      resize_shorter: 256
      resize: { width: 224, height: 224 }
      crop: { width: 200, height: 200 }
      align: corners
      pixel_range: 255
      mean: [104, 117, 123]
      normal: [0.017]
  - name: vector
    tensors: v.npz
    npz_key: vec
outputs: [logits]
calibration: { method: percentile, percentile: 99.9, ema_decay: 0.9, bins: 1024, batch_size: 4, limit: 10 }
weights: { method: ADMM, per_channel: false, clamp: 100 }
activations: { scheme: asymmetric, clamp: 120 }
bits: 6
skip: [conv1]
debug: true
threads: 2
`,
    "q.yaml",
  );
  assert.equal(c.model?.value, "m.onnx");
  assert.deepEqual(c.inputs[0]?.shape?.value, [1, 3, null, null]);
  assert.equal(c.inputs[0]?.layout?.value, "NHWC");
  assert.deepEqual(c.inputs[0]?.image?.pipeline, {
    steps: [
      { op: "color", to: "BGR" },
      { op: "crop_fraction", height: 0.875, width: 0.875, rounding: "tf" },
      { op: "resize_shorter", side: 256, align: "corners" },
      { op: "resize", width: 224, height: 224, align: "corners" },
      { op: "center_crop", width: 200, height: 200 },
      { op: "affine", mean: [104, 117, 123], scale: [0.017] },
    ],
    fit: "corners",
  });
  assert.deepEqual(c.inputs[1]?.source, {
    kind: "tensors",
    path: { value: "v.npz", at: { key: "inputs[1].tensors", line: 18 } },
    key: "vec",
  });
  assert.deepEqual(c.options, {
    method: "PERCENTILE",
    methodOptions: { percentile: 99.9, emaDecay: 0.9, bins: 1024 },
    weightMethod: "ADMM",
    perChannel: false,
    weightClamp: 100,
    featureClamp: 120,
    scheme: "asymmetric-uint8",
    bits: 6,
    threads: 2,
  });
  assert.deepEqual([c.batchSize, c.limit, c.debug], [4, 10, true]);
  assert.deepEqual(c.skip, [{ value: "conv1", at: { key: "skip[0]", line: 25 } }]);
  assert.deepEqual(c.outputs.map((o) => o.value), ["logits"]);
});

Deno.test("quant.yaml: mean/std default to the [0, 1] scale, as the --mean/--std flags", () => {
  const c = parseQuantYaml(BASE + "    preprocess: { mean: [0.5], std: [0.25] }\n", "q.yaml");
  assert.deepEqual(c.inputs[0]?.image?.pipeline.steps.at(-1), { op: "affine", mean: [127.5], scale: [1 / 63.75] });
  const plain = parseQuantYaml(BASE, "q.yaml");
  assert.deepEqual(plain.inputs[0]?.image?.pipeline.steps, [
    { op: "color", to: "RGB" },
    { op: "affine", mean: [0], scale: [1 / 255] },
  ]);
  assert.equal(plain.inputs[0]?.image?.pipeline.fit, "half-pixel");
  const noResize = parseQuantYaml(BASE + "    preprocess: { resize: false }\n", "q.yaml");
  assert.equal(noResize.inputs[0]?.image?.pipeline.fit, "none");
});

Deno.test("quant.yaml: explicit steps", () => {
  const c = parseQuantYaml(
    BASE + "    preprocess:\n      steps:\n        - { op: crop_fraction, fraction: 0.5, rounding: mnn }\n" +
      "        - { op: color, to: GRAY, gray_weights: [0.2, 0.7, 0.1] }\n",
    "q.yaml",
  );
  assert.deepEqual(c.inputs[0]?.image?.pipeline.steps, [
    { op: "crop_fraction", height: 0.5, width: 0.5, rounding: "mnn" },
    { op: "color", to: "GRAY", grayWeights: [0.2, 0.7, 0.1] },
  ]);
});

Deno.test("quant.yaml: wrong types and unknown keys name the key and its line", () => {
  const cases: [string, RegExp][] = [
    [BASE + "bits: eight\n", /q\.yaml line 3: bits: expected a number, got "eight"$/],
    [BASE + "calibration:\n  batch_size: 0\n", /q\.yaml line 4: calibration\.batch_size: must be > 0, got 0$/],
    [BASE + "calibraton: {}\n", /q\.yaml line 3: calibraton: unknown key$/],
    [BASE + "    layuot: NHWC\n", /q\.yaml line 3: inputs\[0\]\.layuot: unknown key$/],
    [BASE + "    layout: NCWH\n", /q\.yaml line 3: inputs\[0\]\.layout: expected "NCHW" or "NHWC", got "NCWH"$/],
    [
      BASE + "calibration: { method: median }\n",
      /q\.yaml line 3: calibration\.method: expected "KL" or .*, got "median"$/,
    ],
    [
      BASE + "    preprocess:\n      std: [0.5, -1]\n",
      /q\.yaml line 4: inputs\[0\]\.preprocess\.std\[1\]: must be > 0, got -1$/,
    ],
    [
      BASE + "    preprocess:\n      steps:\n        - { op: blur }\n",
      /q\.yaml line 5: inputs\[0\]\.preprocess\.steps\[0\]\.op: .*got "blur"$/,
    ],
    [BASE + "    tensors: a.bin\n", /q\.yaml line 3: inputs\[0\]\.tensors: give one data source per input/],
    ["inputs:\n  - name: x\n", /q\.yaml line 2: inputs\[0\]: needs a data source/],
    ["model: m.onnx\n", /q\.yaml line 1: inputs: is required/],
    ["inputs: [\n", /q\.yaml line \d: syntax error: /],
    [BASE + "bits: 8\nbits: 8\n", /q\.yaml line 4: syntax error: Map keys must be unique/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => parseQuantYaml(text, "q.yaml"), (e: Error) => {
      assert.match(e.message, pattern, text);
      return true;
    });
  }
});

Deno.test("the README's quant.yaml example parses and documents every top-level key", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const block = /### `quant\.yaml`\n\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, "README has a quant.yaml example");
  const c = parseQuantYaml(block, "README.md");
  assert.equal(c.inputs.length, 2);
  for (const key of Object.keys(quantYamlSchema.shape)) assert.match(block, new RegExp(`^(# )?${key}:`, "m"), key);
});
