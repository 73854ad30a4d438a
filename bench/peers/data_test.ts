import assert from "node:assert/strict";
import { readIdxImages } from "../../cli/idx.ts";
import { idxImage } from "../../cli/idx.ts";
import { readImageFile } from "../../cli/images.ts";
import { pixelsToTensor } from "../../core/preprocess.ts";
import { BENCH_MODELS, FMNIST_DIR } from "../fixtures.ts";
import { mnnImageConfig, pixelsFromTensor, stretchGray } from "./data.ts";

Deno.test("stretchGray: a t10k image stretched to 32×32 equals the image reader's tensor of the same image as PNG", async () => {
  // calib-data/fmnist/img_0000N.png is t10k image N, so both paths start from the same pixels.
  const m = BENCH_MODELS.find((b) => b.spec.channels === 1 && b.spec.width !== 28)!;
  const images = await readIdxImages(`${FMNIST_DIR}/t10k-images-idx3-ubyte.gz`);
  for (const i of [0, 1, 137, 299]) {
    const fromIdx = pixelsToTensor(await stretchGray(idxImage(images, i), m.spec), m.spec);
    const fromPng = await readImageFile(`calib-data/fmnist/img_${String(i).padStart(5, "0")}.png`, m.spec);
    assert.deepEqual(fromIdx, fromPng, `image ${i}`);
  }
});

Deno.test("pixelsFromTensor: recovers the pixels of every bench model's spec and rejects non-pixel tensors", () => {
  for (const m of BENCH_MODELS) {
    const n = m.spec.width * m.spec.height * m.spec.channels;
    const pixels = {
      data: Uint8Array.from({ length: n }, (_, i) => (i * 37) % 256),
      width: m.spec.width,
      height: m.spec.height,
      channels: m.spec.channels,
    };
    assert.deepEqual(pixelsFromTensor(pixelsToTensor(pixels, m.spec), m.spec).data, pixels.data, m.name);
  }
  const spec = { width: 1, height: 1, channels: 1, layout: "NCHW", mean: [0], std: [1] } as const;
  assert.throws(() => pixelsFromTensor(new Float32Array([0.5]), spec), /Cannot recover 8-bit pixels/);
});

Deno.test("mnnImageConfig: MNN's (x − mean)·normal on 0..255 equals our (x/255 − mean)/std", () => {
  for (const m of BENCH_MODELS) {
    const c = mnnImageConfig(m.spec);
    for (const p of [0, 1, 128, 255]) {
      const ours = pixelsToTensor({
        data: new Uint8Array(m.spec.channels).fill(p),
        width: 1,
        height: 1,
        channels: m.spec.channels,
      }, { ...m.spec, width: 1, height: 1 });
      ours.forEach((v, ch) =>
        assert.ok(Math.abs((p - c.mean[ch]!) * c.normal[ch]! - v) < 1e-6, `${m.name} pixel ${p}`)
      );
    }
  }
  assert.throws(() => mnnImageConfig({ ...BENCH_MODELS[0]!.spec, layout: "NHWC" }), /needs an NCHW input/);
});
