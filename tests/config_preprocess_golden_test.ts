// Preprocessing goldens per path: a known image file goes through a dialect's config, the job and its batching;
// the tensor fed to the model must equal what the dialect's rule gives, computed here independently.
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { Graph, type Model } from "../core/onnx/ir.ts";
import { parseConfig } from "../core/config/mod.ts";
import type { HostTensor } from "../core/exec/executor.ts";
import { buildJob, type JobOverrides } from "../cli/config/job.ts";
import { encodeBinFile } from "../cli/binfile.ts";
import { encodeNpy } from "../cli/npy.ts";

// 2×2 RGB, row-major: (10,20,30) (40,50,60) / (70,80,90) (100,110,120)
const PIXELS = [[10, 20, 30], [40, 50, 60], [70, 80, 90], [100, 110, 120]];

/** A model with only inputs (the job never runs it). */
function fakeModel(inputs: Record<string, (number | string)[]>): Model {
  const values = Object.entries(inputs).map(([name, shape]) => ({ name, elemType: 1, shape }));
  return {
    irVersion: 8,
    opsetImports: [{ domain: "", version: 13 }],
    producerName: "test",
    producerVersion: "",
    graph: new Graph("g", [], new Map(), values, [{ name: "y", elemType: 1, shape: [1] }], new Map()),
    extra: {},
  };
}

async function firstFeeds(
  dir: string,
  name: string,
  text: string,
  model: Model,
  overrides: JobOverrides = {},
): Promise<Record<string, HostTensor>> {
  await Deno.writeTextFile(join(dir, name), text);
  const job = await buildJob(model, parseConfig(text, join(dir, name)), dir, overrides);
  for await (const batch of job.source()) return batch.feeds;
  throw new Error("no batch");
}

function close(actual: Float32Array, expected: number[], tol = 1e-4): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) <= tol, `[${i}]: ${actual[i]} vs ${e}`));
}

async function withImages(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "golden_" });
  await Deno.mkdir(join(dir, "imgs"));
  await sharp(new Uint8Array(PIXELS.flat()), { raw: { width: 2, height: 2, channels: 3 } }).png()
    .toFile(join(dir, "imgs", "a.png"));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const planes = (order: number[], f: (v: number, c: number) => number) =>
  order.flatMap((c, k) => PIXELS.map((px) => f(px[c]!, k)));

Deno.test("golden MNN json RGB: dst = (src − mean) · normal, NCHW", async () => {
  await withImages(async (dir) => {
    const mean = [1, 2, 3];
    const normal = [0.5, 0.25, 0.125];
    const feeds = await firstFeeds(
      dir,
      "c.json",
      JSON.stringify({ format: "RGB", mean, normal, width: 2, height: 2, path: "imgs" }),
      fakeModel({ x: ["N", 3, "H", "W"] }),
    );
    assert.deepEqual(feeds.x!.dims, [1, 3, 2, 2]);
    close(feeds.x!.data, planes([0, 1, 2], (v, c) => (v - mean[c]!) * normal[c]!));
  });
});

Deno.test("golden MNN json BGR (default format): channel 0 is blue", async () => {
  await withImages(async (dir) => {
    const feeds = await firstFeeds(
      dir,
      "c.json",
      '{ "path": "imgs", "mean": [5, 6, 7] }',
      fakeModel({ x: [1, 3, 2, 2] }),
    );
    close(feeds.x!.data, planes([2, 1, 0], (v, c) => v - [5, 6, 7][c]!));
  });
});

Deno.test("golden MNN json GRAY: (19·R + 38·G + 7·B) / 64, then (y − mean) · normal", async () => {
  await withImages(async (dir) => {
    const feeds = await firstFeeds(
      dir,
      "c.json",
      '{ "format": "GRAY", "path": "imgs", "mean": [50], "normal": [0.1] }',
      fakeModel({ x: [1, 1, 2, 2] }),
    );
    close(feeds.x!.data, PIXELS.map(([r, g, b]) => ((19 * r! + 38 * g! + 7 * b!) / 64 - 50) * 0.1));
  });
});

Deno.test("golden quant.yaml NHWC: interleaved, (p/255 − mean) / std on the [0, 1] scale", async () => {
  await withImages(async (dir) => {
    const feeds = await firstFeeds(
      dir,
      "q.yaml",
      "inputs:\n  - images: imgs\n    layout: NHWC\n    preprocess: { mean: [0.5], std: [0.25] }\n",
      fakeModel({ x: ["N", 2, 2, 3] }),
    );
    assert.deepEqual(feeds.x!.dims, [1, 2, 2, 3]);
    close(feeds.x!.data, PIXELS.flat().map((v) => (v / 255 - 0.5) / 0.25));
  });
});

Deno.test("golden no-training IMAGE, RGB, NHWC from the model's shape: (image − mean) / std", async () => {
  await withImages(async (dir) => {
    const feeds = await firstFeeds(
      dir,
      "c.prototxt",
      "preprocess_parameter {\n input_type: IMAGE\n image_format: RGB\n mean_value: 10\n mean_value: 20\n" +
        ' mean_value: 30\n standard_deviation: 2\n input_file_path: "imgs"\n}\n',
      fakeModel({ x: [1, 2, 2, 3] }),
    );
    close(feeds.x!.data, PIXELS.flatMap((px) => px.map((v, c) => (v - [10, 20, 30][c]!) / 2)));
  });
});

Deno.test("golden Sophon resize + crop: resize_h/w (bilinear, pixel centres), crop_h/w centre, BGR order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "golden_" });
  try {
    // 4×4 gray-valued image f(x, y) = 10x + y: bilinear sampling of a linear function is exact.
    const f = (x: number, y: number) => 10 * x + y;
    const raw = new Uint8Array(4 * 4 * 3);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) raw.fill(f(x, y), (y * 4 + x) * 3, (y * 4 + x) * 3 + 3);
    await sharp(raw, { raw: { width: 4, height: 4, channels: 3 } }).png().toFile(join(dir, "lin.png"));
    await Deno.writeTextFile(join(dir, "ImageList.txt"), "lin.png\n");
    const feeds = await firstFeeds(
      dir,
      "run.sh",
      "--data_preproccess_str='resize_h=8,resize_w=8;crop_h=4,crop_w=4;mean_value=1:2:3,scale=0.5' " +
        "--calib_image_source=ImageList.txt --input_data_shape='(1,3,4,4)'",
      fakeModel({ x: ["N", 3, "H", "W"] }),
    );
    assert.deepEqual(feeds.x!.dims, [1, 3, 4, 4]);
    const src = (d: number) => Math.min(3, Math.max(0, (d + 0.5) * 0.5 - 0.5)); // 4 → 8, half-pixel
    const expected = [1, 2, 3].flatMap((mean) => {
      const plane: number[] = [];
      for (let y = 2; y < 6; y++) for (let x = 2; x < 6; x++) plane.push((f(src(x), src(y)) - mean) * 0.5);
      return plane;
    });
    close(feeds.x!.data, expected);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("BINARY data: 510 is transposed to NHWC for an NHWC input, 610 is used as it is (seed 004)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "golden_" });
  try {
    const chw = Float32Array.from({ length: 12 }, (_, i) => i); // C=3, H=2, W=2
    await Deno.writeFile(join(dir, "a.bin"), encodeBinFile(510, [1, 3, 2, 2], chw));
    const config = 'preprocess_parameter {\n input_type: BINARY\n input_file_path: "a.bin"\n}\n';
    const nhwc = await firstFeeds(dir, "c.prototxt", config, fakeModel({ x: [1, 2, 2, 3] }), { layout: "NHWC" });
    close(nhwc.x!.data, [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    const nchw = await firstFeeds(dir, "c.prototxt", config, fakeModel({ x: [1, 3, 2, 2] }));
    close(nchw.x!.data, Array.from(chw));
    await Deno.writeFile(join(dir, "a.bin"), encodeBinFile(610, [1, 2, 2, 3], chw));
    const as610 = await firstFeeds(dir, "c.prototxt", config, fakeModel({ x: [1, 2, 2, 3] }), { layout: "NHWC" });
    close(as610.x!.data, Array.from(chw));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(".npy / .npz inputs, stacked by the batch size, one source per input in config order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "golden_" });
  try {
    const { zipSync } = await import("fflate");
    await Deno.writeFile(join(dir, "a.npy"), encodeNpy([3, 2], new Float32Array([1, 2, 3, 4, 5, 6])));
    await Deno.writeFile(join(dir, "b.npz"), zipSync({ "b.npy": encodeNpy([3, 1], new Float32Array([7, 8, 9])) }));
    const text =
      "inputs:\n  - { name: b, tensors: b.npz }\n  - { name: a, tensors: a.npy }\ncalibration: { batch_size: 2 }\n";
    await Deno.writeTextFile(join(dir, "q.yaml"), text);
    const job = await buildJob(fakeModel({ a: ["N", 2], b: ["N", 1] }), parseConfig(text, "q.yaml"), dir);
    const batches = [];
    for await (const b of job.source()) batches.push(b);
    assert.deepEqual(batches.map((b) => b.size), [2, 1]);
    assert.deepEqual(batches[0]!.feeds.a, { data: new Float32Array([1, 2, 3, 4]), dims: [2, 2] });
    assert.deepEqual(batches[1]!.feeds.b, { data: new Float32Array([9]), dims: [1, 1] });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
