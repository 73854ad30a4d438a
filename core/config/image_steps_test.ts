// Golden tensors: every expectation is computed here from the definition of the step, not by the code under test.
import assert from "node:assert/strict";
import {
  applyStep,
  BT601_GRAY,
  finalColorOrder,
  type FloatImage,
  type ImagePipeline,
  MNN_GRAY,
  runImagePipeline,
} from "./image_steps.ts";

// 2×2 RGBA, row-major: (10,20,30) (40,50,60) / (70,80,90) (100,110,120), opaque.
const RGB = [[10, 20, 30], [40, 50, 60], [70, 80, 90], [100, 110, 120]];
const IMAGE = { data: new Uint8Array(RGB.flatMap((p) => [...p, 255])), width: 2, height: 2, channels: 4 };

function close(actual: Float32Array, expected: number[], tol = 1e-4) {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) <= tol, `[${i}] ${actual[i]} vs ${e}`));
}

const size = { width: 2, height: 2 };

Deno.test("golden RGB: (x − mean)·normal per channel, NCHW planes", () => {
  const mean = [1, 2, 3];
  const normal = [0.5, 0.25, 0.125];
  const p: ImagePipeline = {
    steps: [{ op: "color", to: "RGB" }, { op: "affine", mean, scale: normal }],
    fit: "none",
  };
  const expected = [0, 1, 2].flatMap((c) => RGB.map((px) => (px[c]! - mean[c]!) * normal[c]!));
  close(runImagePipeline(IMAGE, p, size, "NCHW"), expected);
});

Deno.test("golden BGR: channel 0 is blue (MNN format, seed 004 image_format)", () => {
  const p: ImagePipeline = {
    steps: [{ op: "color", to: "BGR" }, { op: "affine", mean: [100], scale: [1 / 50] }],
    fit: "none",
  };
  const expected = [2, 1, 0].flatMap((c) => RGB.map((px) => (px[c]! - 100) / 50));
  close(runImagePipeline(IMAGE, p, size, "NCHW"), expected);
});

Deno.test("golden GRAY: BT.601 weights by default, MNN's 19/38/7 when asked", () => {
  const bt601 = RGB.map(([r, g, b]) => 0.299 * r! + 0.587 * g! + 0.114 * b!);
  close(runImagePipeline(IMAGE, { steps: [{ op: "color", to: "GRAY" }], fit: "none" }, size, "NCHW"), bt601);
  const mnn = RGB.map(([r, g, b]) => (19 * r! + 38 * g! + 7 * b!) / 64);
  const p: ImagePipeline = { steps: [{ op: "color", to: "GRAY", grayWeights: MNN_GRAY }], fit: "none" };
  close(runImagePipeline(IMAGE, p, size, "NCHW"), mnn);
  assert.deepEqual(BT601_GRAY, [0.299, 0.587, 0.114]);
});

Deno.test("golden NHWC: interleaved channels, RGBA keeps alpha", () => {
  const p: ImagePipeline = { steps: [{ op: "color", to: "RGB" }], fit: "none" };
  close(runImagePipeline(IMAGE, p, size, "NHWC"), RGB.flat());
  const rgba: ImagePipeline = { steps: [{ op: "color", to: "RGBA" }], fit: "none" };
  close(runImagePipeline(IMAGE, rgba, size, "NHWC"), RGB.flatMap((px) => [...px, 255]));
  const bgra: ImagePipeline = { steps: [{ op: "color", to: "BGRA" }], fit: "none" };
  close(runImagePipeline(IMAGE, bgra, size, "NHWC"), RGB.flatMap(([r, g, b]) => [b!, g!, r!, 255]));
});

/** A gray image holding f(x, y) = 10·x + y: bilinear sampling of a linear function is exact. */
function linear(width: number, height: number): FloatImage {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = 10 * x + y;
  return { data, width, height, order: "GRAY" };
}

Deno.test("golden resize: corners (MNN) and half-pixel (OpenCV) sample where their formulas say", () => {
  const src = linear(4, 3);
  const corners = applyStep(src, { op: "resize", width: 7, height: 5, align: "corners" });
  const expectCorners: number[] = [];
  for (let y = 0; y < 5; y++) for (let x = 0; x < 7; x++) expectCorners.push(10 * (x * 3 / 6) + y * 2 / 4);
  close(corners.data, expectCorners);
  const half = applyStep(src, { op: "resize", width: 8, height: 6, align: "half-pixel" });
  const clampTo = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  const expectHalf: number[] = [];
  for (let y = 0; y < 6; y++) {
    for (let x = 0; x < 8; x++) {
      expectHalf.push(10 * clampTo((x + 0.5) * 0.5 - 0.5, 3) + clampTo((y + 0.5) * 0.5 - 0.5, 2));
    }
  }
  close(half.data, expectHalf);
});

Deno.test("golden resize + crop: Sophon resize_h/w then crop_h/w keeps the centre", () => {
  const src = linear(4, 4);
  let img = applyStep(src, { op: "resize", width: 7, height: 7, align: "corners" });
  img = applyStep(img, { op: "center_crop", width: 4, height: 4 });
  const expected: number[] = [];
  // crop offset ⌊(7 − 4) / 2⌋ = 1; corners resize 4 → 7 maps x to x/2.
  for (let y = 1; y < 5; y++) for (let x = 1; x < 5; x++) expected.push(10 * (x / 2) + y / 2);
  close(img.data, expected);
});

Deno.test("crop_fraction: MNN keeps ⌊H·f⌋ rows, tf.image.central_crop starts at ⌊(H − H·f)/2⌋", () => {
  const src = linear(10, 10);
  const mnn = applyStep(src, { op: "crop_fraction", height: 0.875, width: 0.875, rounding: "mnn" });
  assert.deepEqual([mnn.width, mnn.height, mnn.data[0]], [8, 8, 10 * 1 + 1]);
  const tf = applyStep(src, { op: "crop_fraction", height: 0.875, width: 0.875, rounding: "tf" });
  assert.deepEqual([tf.width, tf.height, tf.data[0]], [10, 10, 0]);
  const tf2 = applyStep(linear(16, 16), { op: "crop_fraction", height: 0.5, width: 0.5, rounding: "tf" });
  assert.deepEqual([tf2.width, tf2.height, tf2.data[0]], [8, 8, 44]);
});

Deno.test("resize_shorter keeps the aspect ratio (shorter side = side)", () => {
  const tall = applyStep(linear(4, 8), { op: "resize_shorter", side: 2, align: "half-pixel" });
  assert.deepEqual([tall.width, tall.height], [2, 4]);
  const wide = applyStep(linear(9, 6), { op: "resize_shorter", side: 4, align: "half-pixel" });
  assert.deepEqual([wide.width, wide.height], [6, 4]);
});

Deno.test("fit: a final resize to the model size, or an error with fit none", () => {
  const p: ImagePipeline = { steps: [{ op: "color", to: "GRAY" }], fit: "corners" };
  assert.equal(runImagePipeline(IMAGE, p, { width: 3, height: 3 }, "NCHW").length, 9);
  assert.throws(
    () => runImagePipeline(IMAGE, { ...p, fit: "none" }, { width: 3, height: 3 }, "NCHW"),
    /is 2×2 after preprocessing but the model input needs 3×3/,
  );
  assert.throws(
    () => runImagePipeline(IMAGE, { steps: [{ op: "center_crop", width: 3, height: 3 }], fit: "none" }, size, "NCHW"),
    /smaller than the 3×3 crop/,
  );
});

Deno.test("finalColorOrder checks affine value counts against the channels at that step", () => {
  assert.equal(finalColorOrder([{ op: "color", to: "GRAY" }, { op: "affine", mean: [1], scale: [2] }], "RGBA"), "GRAY");
  assert.throws(
    () => finalColorOrder([{ op: "color", to: "GRAY" }, { op: "affine", mean: [1, 2, 3], scale: [1] }], "RGBA"),
    /mean has 3 values but the image has 1 channel \(GRAY\)/,
  );
  assert.throws(() => finalColorOrder([{ op: "resize", width: 0, height: 2, align: "corners" }], "RGB"), /width/);
});
