import assert from "node:assert/strict";
import { parseMnnJson } from "./mnn_json.ts";

Deno.test("MNN json: every key of seed 001's table", () => {
  const c = parseMnnJson(
    `{
  "format": "GRAY", "mean": [127.5], "normal": [0.0078125], "width": 28, "height": 28, "path": "imgs",
  "used_image_num": 50, "feature_quantize_method": "EMA", "weight_quantize_method": "ADMM",
  "feature_clamp_value": 120, "weight_clamp_value": 126, "batch_size": 16, "quant_bits": 7,
  "skip_quant_op_names": ["conv1"], "input_type": "image", "debug": true
}`,
    "g.json",
  );
  assert.deepEqual(c.inputs[0]?.image?.pipeline, {
    steps: [
      { op: "color", to: "GRAY", grayWeights: [19 / 64, 38 / 64, 7 / 64] },
      { op: "resize", width: 28, height: 28, align: "corners" },
      { op: "affine", mean: [127.5], scale: [0.0078125] },
    ],
    fit: "corners",
  });
  assert.deepEqual(c.inputs[0]?.image?.size?.value, { width: 28, height: 28 });
  assert.deepEqual(c.options, {
    method: "EMA",
    scheme: "asymmetric-uint8",
    weightMethod: "ADMM",
    featureClamp: 120,
    weightClamp: 126,
    bits: 7,
  });
  assert.deepEqual([c.limit, c.batchSize, c.debug, c.skip[0]?.value, c.skip[0]?.at.line], [50, 16, true, "conv1", 5]);
  assert.equal(c.inputs[0]?.source?.kind, "images");
});

Deno.test("MNN json: defaults as MNN's (BGR, mean 0 / normal 1 for missing entries), sequence input, crops", () => {
  const c = parseMnnJson('{ "path": "p", "mean": [1, 2], "center_crop_h": 0.5, "width": 4, "height": 4 }', "a.json");
  assert.deepEqual(c.inputs[0]?.image?.pipeline.steps, [
    { op: "color", to: "BGR" },
    { op: "crop_fraction", height: 0.5, width: 1, rounding: "mnn" },
    { op: "resize", width: 4, height: 4, align: "corners" },
    { op: "affine", mean: [1, 2, 0], scale: [1, 1, 1] },
  ]);
  const s = parseMnnJson('{ "path": "seq", "input_type": "sequence", "used_image_num": 0 }', "s.json");
  assert.equal(s.inputs[0]?.source?.kind, "sequence");
  assert.equal(s.inputs[0]?.image, undefined);
  assert.equal(s.limit, undefined);
});

Deno.test("MNN json: errors name the key and line", () => {
  assert.throws(
    () => parseMnnJson('{\n "path": "p",\n "format": "YUV"\n}', "a.json"),
    /a\.json line 3: format: expected .*got "YUV"/,
  );
  assert.throws(() => parseMnnJson('{\n "format": "RGB"\n}', "a.json"), /a\.json line 1: path: is required/);
  assert.throws(() => parseMnnJson('{\n "path": "p",\n "widht": 3\n}', "a.json"), /a\.json line 3: widht: unknown key/);
  assert.throws(
    () => parseMnnJson('{\n "path": "p",\n "feature_clamp_value": 200\n}', "a.json"),
    /feature_clamp_value: must be ≤ 127/,
  );
  assert.throws(() => parseMnnJson('{ "path": "p", "width": 3 }', "a.json"), /height: is required when the other/);
});
