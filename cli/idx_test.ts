import assert from "node:assert/strict";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { pixelsToTensor } from "../core/preprocess.ts";
import { idxImage, parseIdxImages, parseIdxLabels, readIdxImages, readIdxLabels } from "./idx.ts";
import { DataError } from "./images.ts";

const FASHION = "/usr/share/datasets/fashion-mnist";

function idx(magic: number, dims: number[], data: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, magic);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

// 2 images of 2 rows × 3 cols
const IMAGES = idx(0x803, [2, 2, 3], [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15]);
const LABELS = idx(0x801, [4], [9, 0, 3, 7]);

Deno.test("parseIdxImages / parseIdxLabels: plain and gzipped", () => {
  for (const bytes of [IMAGES, new Uint8Array(gzipSync(IMAGES))]) {
    const images = parseIdxImages(bytes, "x");
    assert.deepEqual([images.count, images.rows, images.cols], [2, 2, 3]);
    assert.deepEqual(Array.from(images.pixels), [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15]);
  }
  assert.deepEqual(Array.from(parseIdxLabels(new Uint8Array(gzipSync(LABELS)), "y")), [9, 0, 3, 7]);
});

Deno.test("idxImage: one image as a 1-channel RawImage for pixelsToTensor", () => {
  const images = parseIdxImages(IMAGES, "x");
  const image = idxImage(images, 1);
  assert.deepEqual([image.width, image.height, image.channels], [3, 2, 1]);
  const t = pixelsToTensor(image, { width: 3, height: 2, channels: 1, layout: "NCHW", mean: [0], std: [1 / 255] });
  assert.deepEqual(Array.from(t), [10, 11, 12, 13, 14, 15]);
  assert.throws(() => idxImage(images, 2), /Image index 2 is out of range 0..1/);
});

Deno.test("parseIdx: clear DataErrors naming the file", () => {
  const cases: [Uint8Array, "images" | "labels", RegExp][] = [
    [new Uint8Array([0, 0]), "images", /truncated: 2 bytes is shorter than the 4-byte magic number/],
    [LABELS, "images", /magic number is 0x00000801, not 0x00000803 for an image file \(this is an IDX label file\)/],
    [IMAGES, "labels", /not 0x00000801 for a label file \(this is an IDX image file\)/],
    [idx(0x0d03, [1, 1, 1], [0, 0, 0, 0]), "images", /element type 0x0d is not unsigned byte/],
    [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), "images", /magic number is 0x89504e47/],
    [IMAGES.subarray(0, 10), "images", /truncated: header needs 16 bytes but the file has 10/],
    [IMAGES.subarray(0, 20), "images", /truncated: sizes 2×2×3 need 12 data bytes but the file has 4/],
    [idx(0x803, [0xffffffff, 0xffffffff, 0xffffffff], []), "images", /truncated: sizes 4294967295×/],
    [idx(0x801, [2], [1, 2, 3]), "labels", /1 unexpected bytes after the 2 data/],
    [new Uint8Array(gzipSync(IMAGES)).subarray(0, 30), "images", /broken gzip data/],
  ];
  for (const [bytes, kind, why] of cases) {
    assert.throws(
      () => (kind === "images" ? parseIdxImages(bytes, "f.idx") : parseIdxLabels(bytes, "f.idx")),
      (e: Error) => {
        assert.ok(e instanceof DataError, String(e));
        assert.ok(e.message.startsWith("Cannot read IDX file f.idx: "), e.message);
        assert.match(e.message, why);
        return true;
      },
    );
  }
});

Deno.test("parseIdx: 500 random byte arrays and random truncations never throw anything but DataError", () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const gz = new Uint8Array(gzipSync(IMAGES));
  const check = (bytes: Uint8Array) => {
    for (const parse of [parseIdxImages, parseIdxLabels]) {
      try {
        parse(bytes, "fuzz");
      } catch (e) {
        assert.ok(e instanceof DataError, `not a DataError: ${e}`);
      }
    }
  };
  for (let n = 0; n < 500; n++) {
    const bytes = new Uint8Array(Math.floor(random() * 64));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
    // a third start with a valid-looking magic so the size checks get exercised too
    if (n % 3 === 0 && bytes.length >= 4) bytes.set([0, 0, 8, n % 2 ? 1 : 3]);
    if (n % 7 === 0 && bytes.length >= 2) bytes.set([0x1f, 0x8b]);
    check(bytes);
  }
  for (const valid of [IMAGES, LABELS, gz]) {
    for (let n = 0; n < 100; n++) {
      const cut = valid.slice(0, Math.floor(random() * valid.length));
      if (n % 2 && cut.length > 0) cut[Math.floor(random() * cut.length)] = Math.floor(random() * 256);
      check(cut);
    }
  }
});

Deno.test("readIdxImages / readIdxLabels: missing file is a DataError", async () => {
  const dir = await Deno.makeTempDir({ prefix: "idx_test_" });
  try {
    const path = join(dir, "none.gz");
    await assert.rejects(readIdxImages(path), { name: "DataError", message: `IDX file not found: ${path}` });
    await assert.rejects(readIdxLabels(dir), (e: Error) => e instanceof DataError && e.message.includes(dir));
    await Deno.writeFile(path, new Uint8Array(gzipSync(LABELS)));
    assert.deepEqual(Array.from(await readIdxLabels(path)), [9, 0, 3, 7]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readIdx: the real Fashion-MNIST t10k files", async () => {
  const images = await readIdxImages(join(FASHION, "t10k-images-idx3-ubyte.gz"));
  const labels = await readIdxLabels(join(FASHION, "t10k-labels-idx1-ubyte.gz"));
  assert.deepEqual([images.count, images.rows, images.cols], [10000, 28, 28]);
  assert.equal(images.pixels.length, 10000 * 28 * 28);
  assert.equal(labels.length, 10000);
  const perClass = new Array<number>(10).fill(0);
  for (const label of labels) {
    assert.ok(label <= 9, `label ${label}`);
    perClass[label]!++;
  }
  assert.deepEqual(perClass, new Array(10).fill(1000)); // the test split is balanced
  assert.ok(images.pixels.some((p) => p === 255) && images.pixels.some((p) => p === 0));
});
