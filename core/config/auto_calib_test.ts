import assert from "node:assert/strict";
import { parseArgFile, parseAutoCalib, parseShapes, PREPROCESS_TEMPLATES, preprocessSteps } from "./auto_calib.ts";

const AT = { key: "data_preproccess_str", line: 1 };

Deno.test("auto_calib: the seed's data_preproccess_str", () => {
  assert.deepEqual(preprocessSteps("resize_h=512,resize_w=512;mean_value=103.94:116.78:123.68,scale=1.0", "f", AT), [
    { op: "color", to: "BGR" },
    { op: "resize", width: 512, height: 512, align: "half-pixel" },
    { op: "affine", mean: [103.94, 116.78, 123.68], scale: [1] },
  ]);
});

Deno.test("auto_calib: the three templates", () => {
  assert.deepEqual(preprocessSteps(PREPROCESS_TEMPLATES.vgg_tensorflow!, "f", AT), [
    { op: "color", to: "BGR" },
    { op: "resize_shorter", side: 256, align: "half-pixel" },
    { op: "center_crop", width: 224, height: 224 },
    { op: "affine", mean: [103.94, 116.78, 123.68], scale: [1] },
    { op: "color", to: "RGB" },
  ]);
  assert.deepEqual(preprocessSteps(PREPROCESS_TEMPLATES.ssd_vgg_tensorflow!, "f", AT).map((s) => s.op), [
    "color",
    "resize",
    "affine",
    "color",
    "center_crop",
  ]);
  assert.deepEqual(preprocessSteps(PREPROCESS_TEMPLATES.ssd_inception_tensorflow!, "f", AT), [
    { op: "color", to: "BGR" },
    { op: "resize", width: 256, height: 256, align: "half-pixel" },
    { op: "affine", mean: [0], scale: [0.003921568859368563] },
    { op: "crop_fraction", height: 0.875, width: 0.875, rounding: "tf" },
    { op: "resize", width: 224, height: 224, align: "half-pixel" },
    { op: "affine", mean: [0.5, 0.5, 0.5], scale: [2] },
    { op: "color", to: "RGB" },
  ]);
});

Deno.test("auto_calib: shapes, names and argument files", () => {
  assert.deepEqual(parseShapes("(1,3,224,224);(4,1)"), [[1, 3, 224, 224], [4, 1]]);
  assert.deepEqual(parseShapes("1, 299, 299, 3"), [[1, 299, 299, 3]]);
  assert.equal(parseShapes("(1,a)"), undefined);
  const args = parseArgFile(
    "# comment\npython3 calib.py --model='m.onnx' \\\n  --data_preproccess_str \"scale=1.0\" --auto_calib = true --calib_debug\n",
    "a.sh",
  );
  assert.deepEqual(Object.fromEntries(args), {
    model: { value: "m.onnx", line: 2 },
    data_preproccess_str: { value: "scale=1.0", line: 3 },
    auto_calib: { value: "true", line: 3 },
    calib_debug: { value: "true", line: 3 },
  });
  const c = parseAutoCalib(
    "--model=m.onnx --data_preproccess_str='scale=1.0' --calib_image_source=imgs --input_data_shape='(4, 299, 299, 3)'" +
      " --input_data_name='(input)' --output_data_name='a;b' --calib_iterations=0 --weights=w",
    "a.sh",
  );
  assert.deepEqual(c.inputs[0]?.shape?.value, [4, 299, 299, 3]);
  assert.equal(c.inputs[0]?.layout?.value, "NHWC");
  assert.equal(c.inputs[0]?.name?.value, "input");
  assert.deepEqual(c.outputs.map((o) => o.value), ["a", "b"]);
  assert.equal(c.model?.value, "m.onnx");
  assert.equal(c.limit, undefined);
  assert.equal(c.notes.length, 1);
});

Deno.test("auto_calib: errors name the argument and line", () => {
  const cases: [string, RegExp][] = [
    [
      "--calib_image_source=x\n--data_preproccess_str='resize_h=3,resize_w=3;blur=1'",
      /a\.sh line 2: data_preproccess_str: unknown parameter "blur"/,
    ],
    ["--calib_image_source=x --data_preproccess_str='resize_h=3'", /resize_h and resize_w go together/],
    ["--calib_image_source=x --data_preproccess_str='mean_value=1:2'", /mean_value has 2 values; give 1 or 3/],
    [
      "--calib_image_source=x\n\n--image_data_preproccess=vgg",
      /a\.sh line 3: image_data_preproccess: unknown template "vgg"/,
    ],
    [
      "--calib_lmdb_path=/data/lmdb --data_preproccess_str='scale=1'",
      /calib_lmdb_path: LMDB calibration data is not read here/,
    ],
    [
      "--calib_image_source=x --data_preproccess_str='scale=1' --bogus=1",
      /a\.sh line 1: --bogus: unknown auto_calib argument/,
    ],
    ["--calib_image_source=x --data_preproccess_str='scale=1' --input_data_shape='(1,3);(1,4)'", /describes 2 inputs/],
    ["--data_preproccess_str='scale=1'", /--calib_image_source: is required/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => parseAutoCalib(text, "a.sh"), (e: Error) => {
      assert.match(e.message, pattern, text);
      return true;
    });
  }
});
