import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { DataError } from "../images.ts";
import { imageFiles, imageSource, parseSequenceText, sequenceSource } from "./samples.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "samples_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("ImageList.txt: paths relative to the list, labels and comments skipped, missing files named by line", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(join(dir, "imgs"));
    for (const name of ["a.PNG", "b.png"]) {
      await sharp({ create: { width: 3, height: 2, channels: 3, background: "#102030" } }).png().toFile(
        join(dir, "imgs", name),
      );
    }
    await Deno.writeTextFile(join(dir, "list.txt"), `# calibration\nimgs/b.png 3\n\n${join(dir, "imgs", "a.PNG")}\n`);
    assert.deepEqual(await imageFiles(join(dir, "list.txt")), [join(dir, "imgs/b.png"), join(dir, "imgs/a.PNG")]);
    assert.deepEqual(await imageFiles(join(dir, "imgs")), [join(dir, "imgs/a.PNG"), join(dir, "imgs/b.png")]);
    await Deno.writeTextFile(join(dir, "bad.txt"), "imgs/a.PNG\nimgs/missing.jpg\n");
    await assert.rejects(
      () => imageFiles(join(dir, "bad.txt")),
      (e: unknown) => e instanceof DataError && /bad\.txt line 2: image not found: .*missing\.jpg/.test(e.message),
    );
    await assert.rejects(() => imageFiles(join(dir, "none")), /Calibration images not found/);
  });
});

Deno.test("image source: EXIF orientation respected, GRAY and RGBA files decoded to the pipeline's order", async () => {
  await withDir(async (dir) => {
    // 16×8 stored (left half red, right half blue), orientation 6 (rotate 90° clockwise) → 8×16 upright, red on top.
    const raw = new Uint8Array(16 * 8 * 3);
    for (let p = 0; p < 16 * 8; p++) raw.set(p % 16 < 8 ? [255, 0, 0] : [0, 0, 255], p * 3);
    await sharp(raw, { raw: { width: 16, height: 8, channels: 3 } }).withMetadata({ orientation: 6 })
      .jpeg({ quality: 100, chromaSubsampling: "4:4:4" }).toFile(join(dir, "rot.jpg"));
    const src = imageSource([join(dir, "rot.jpg")], { steps: [{ op: "color", to: "RGB" }], fit: "none" }, {
      width: 8,
      height: 16,
      channels: 3,
    }, "NHWC");
    const t = await src.read(0);
    assert.deepEqual(t.dims, [16, 8, 3]);
    const last = t.data.length - 3;
    assert.ok(
      t.data[0]! > 200 && t.data[2]! < 50 && t.data[last + 2]! > 200 && t.data[last]! < 50,
      "red on top, blue below",
    );
    await sharp(new Uint8Array([10, 20, 30, 40]), { raw: { width: 2, height: 2, channels: 1 } }).png().toFile(
      join(dir, "g.png"),
    );
    await sharp(new Uint8Array([1, 2, 3, 0, 4, 5, 6, 9]), { raw: { width: 2, height: 1, channels: 4 } }).png()
      .toFile(join(dir, "rgba.png"));
    const gray = imageSource([join(dir, "g.png")], { steps: [{ op: "color", to: "GRAY" }], fit: "none" }, {
      width: 2,
      height: 2,
      channels: 1,
    }, "NCHW");
    assert.deepEqual(Array.from((await gray.read(0)).data).map((v) => Math.round(v)), [10, 20, 30, 40]);
    const rgba = imageSource([join(dir, "rgba.png")], { steps: [{ op: "color", to: "BGRA" }], fit: "none" }, {
      width: 2,
      height: 1,
      channels: 4,
    }, "NHWC");
    assert.deepEqual(Array.from((await rgba.read(0)).data), [3, 2, 1, 0, 6, 5, 4, 9]);
  });
});

Deno.test("MNN sequence files: one line per channel", async () => {
  assert.deepEqual(parseSequenceText("1 2\n\n3 4\n", "s.txt", "NCHW"), {
    data: new Float32Array([1, 2, 3, 4]),
    dims: [2, 2],
  });
  assert.throws(() => parseSequenceText("1 2\n3\n", "s.txt", "NCHW"), /s\.txt line 2: 1 values, but line 1 has 2/);
  assert.throws(() => parseSequenceText("1 x\n", "s.txt", "NCHW"), /s\.txt line 1: "x" is not a number/);
  await withDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "0.txt"), "1 2 3\n");
    await Deno.writeTextFile(join(dir, "1.txt"), "4 5 6\n");
    const s = await sequenceSource(dir, "NHWC");
    assert.equal(s.count, 2);
    assert.deepEqual(await s.read(1), { data: new Float32Array([4, 5, 6]), dims: [3, 1] });
  });
});
