import assert from "node:assert/strict";
import {
  type ImagePreprocess,
  pixelsToTensor,
  type RawImage,
  resolveNormalization,
  sampleSize,
  stackBatch,
  tensorShape,
} from "./preprocess.ts";

function assertClose(actual: Float32Array, expected: number[], tol = 1e-6) {
  assert.equal(actual.length, expected.length, "length");
  expected.forEach((e, i) => {
    assert.ok(Math.abs(actual[i]! - e) <= tol, `index ${i}: ${actual[i]} vs ${e}`);
  });
}

// 2×2 RGB, row-major: (10,20,30) (40,50,60) / (70,80,90) (100,110,120)
const rgb: RawImage = {
  data: new Uint8Array([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]),
  width: 2,
  height: 2,
  channels: 3,
};
const base: ImagePreprocess = { width: 2, height: 2, channels: 3, layout: "NCHW", mean: [0], std: [1] };

Deno.test("pixelsToTensor: NCHW groups each channel's plane", () => {
  assertClose(pixelsToTensor(rgb, base), [10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120].map((p) => p / 255));
});

Deno.test("pixelsToTensor: NHWC keeps the interleaved order", () => {
  assertClose(pixelsToTensor(rgb, { ...base, layout: "NHWC" }), Array.from(rgb.data, (p) => p / 255));
});

Deno.test("pixelsToTensor: per-channel mean and std", () => {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const t = pixelsToTensor(rgb, { ...base, layout: "NHWC", mean, std });
  const expected = Array.from(rgb.data, (p, i) => (p / 255 - mean[i % 3]!) / std[i % 3]!);
  assertClose(t, expected, 1e-5);
});

Deno.test("pixelsToTensor: a single mean/std broadcasts to every channel", () => {
  const t = pixelsToTensor(rgb, { ...base, mean: [0.5], std: [0.5] });
  assertClose(t, [10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120].map((p) => (p / 255 - 0.5) / 0.5));
});

Deno.test("pixelsToTensor: grayscale, both layouts agree", () => {
  const gray: RawImage = { data: new Uint8Array([0, 255, 51, 102]), width: 2, height: 2, channels: 1 };
  const spec: ImagePreprocess = { ...base, channels: 1, mean: [0.1307], std: [0.3081] };
  const expected = [0, 255, 51, 102].map((p) => (p / 255 - 0.1307) / 0.3081);
  assertClose(pixelsToTensor(gray, spec), expected, 1e-5);
  assertClose(pixelsToTensor(gray, { ...spec, layout: "NHWC" }), expected, 1e-5);
});

Deno.test("pixelsToTensor: non-square image keeps rows and columns apart", () => {
  // 3 wide × 1 high RGB; NCHW plane for channel 0 is the three R values left to right
  const image: RawImage = { data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), width: 3, height: 1, channels: 3 };
  const t = pixelsToTensor(image, { ...base, width: 3, height: 1, std: [1 / 255] });
  assertClose(t, [1, 4, 7, 2, 5, 8, 3, 6, 9]);
});

Deno.test("pixelsToTensor: rejects mismatched size, channels and data length", () => {
  assert.throws(() => pixelsToTensor(rgb, { ...base, width: 3 }), /Image is 2×2 but the input needs 3×2/);
  assert.throws(() => pixelsToTensor(rgb, { ...base, channels: 1 }), /Image has 3 channels but the input needs 1/);
  assert.throws(
    () => pixelsToTensor({ ...rgb, data: new Uint8Array(11) }, base),
    /Image data has 11 bytes but 2×2×3 needs 12/,
  );
});

Deno.test("resolveNormalization: clear errors for bad mean/std and spec", () => {
  assert.throws(() => resolveNormalization({ ...base, mean: [0.1, 0.2] }), {
    message: "mean has 2 values but the input has 3 channels",
  });
  assert.throws(() => resolveNormalization({ ...base, channels: 1, std: [1, 1, 1] }), {
    message: "std has 3 values but the input has 1 channel",
  });
  assert.throws(() => resolveNormalization({ ...base, mean: [] }), /mean has 0 values/);
  assert.throws(() => resolveNormalization({ ...base, std: [1, 0, 1] }), { message: "std[1] must be > 0, got 0" });
  assert.throws(() => resolveNormalization({ ...base, std: [-2] }), /std\[0\] must be > 0, got -2/);
  assert.throws(() => resolveNormalization({ ...base, std: [NaN] }), /std\[0\] must be > 0, got NaN/);
  assert.throws(() => resolveNormalization({ ...base, mean: [Infinity] }), /mean\[0\] must be a finite number/);
  assert.throws(() => resolveNormalization({ ...base, width: 0 }), /width must be a positive integer, got 0/);
  assert.throws(() => resolveNormalization({ ...base, height: 1.5 }), /height must be a positive integer/);
  assert.throws(
    () => resolveNormalization({ ...base, channels: 4 as unknown as 3 }),
    /channels must be 1 or 3, got 4/,
  );
  assert.throws(
    () => resolveNormalization({ ...base, layout: "CHW" as unknown as "NCHW" }),
    /layout must be "NCHW" or "NHWC", got "CHW"/,
  );
});

Deno.test("stackBatch: concatenates samples and checks their length", () => {
  const a = pixelsToTensor(rgb, base);
  const b = pixelsToTensor(rgb, { ...base, mean: [1] });
  const batch = stackBatch([a, b], base);
  assert.equal(batch.length, 2 * sampleSize(base));
  assert.deepEqual(batch.subarray(0, 12), a);
  assert.deepEqual(batch.subarray(12), b);
  assert.throws(() => stackBatch([], base), /empty batch/);
  assert.throws(() => stackBatch([a, new Float32Array(5)], base), /Sample 1 has 5 values but 2×2×3 needs 12/);
});

Deno.test("tensorShape: NCHW and NHWC", () => {
  assert.deepEqual(tensorShape({ width: 4, height: 2, channels: 3, layout: "NCHW" }, 8), [8, 3, 2, 4]);
  assert.deepEqual(tensorShape({ width: 4, height: 2, channels: 1, layout: "NHWC" }, 1), [1, 2, 4, 1]);
});
