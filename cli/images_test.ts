import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import type { ImagePreprocess } from "../core/preprocess.ts";
import {
  DataError,
  IMAGE_EXTENSIONS,
  type ImageSample,
  listImageFiles,
  readImageFile,
  readImageFolder,
} from "./images.ts";

// 2×2 RGB, row-major: red, green / blue, (10, 20, 30)
const RGB_2x2 = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];
const RGB_NCHW = [255, 0, 0, 10, 0, 255, 0, 20, 0, 0, 255, 30].map((p) => p / 255);
const SPEC: ImagePreprocess = { width: 2, height: 2, channels: 3, layout: "NCHW", mean: [0], std: [1] };

function raw(pixels: number[], width: number, height: number, channels: 1 | 2 | 3 | 4): sharp.Sharp {
  return sharp(new Uint8Array(pixels), { raw: { width, height, channels } });
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "images_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function assertClose(actual: Float32Array, expected: number[], tol = 1e-6, what = "") {
  assert.equal(actual.length, expected.length, `${what} length`);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) <= tol, `${what}[${i}]: ${actual[i]} vs ${e}`));
}

async function collect(gen: AsyncGenerator<ImageSample>): Promise<ImageSample[]> {
  const out: ImageSample[] = [];
  for await (const s of gen) out.push(s);
  return out;
}

/** Linear-light Rec. 709 luminance re-encoded to sRGB: what libvips' sRGB → B_W conversion computes. */
function srgbLuminance(r: number, g: number, b: number): number {
  const lin = (v: number) => (v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
  const y = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  return 255 * (y <= 0.0031308 ? 12.92 * y : 1.055 * y ** (1 / 2.4) - 0.055);
}

Deno.test("readImageFile: lossless PNG, WebP and TIFF give the exact RGB tensor, NCHW", async () => {
  await withTempDir(async (dir) => {
    const files = {
      "a.png": raw(RGB_2x2, 2, 2, 3).png(),
      "b.webp": raw(RGB_2x2, 2, 2, 3).webp({ lossless: true }),
      "c.tif": raw(RGB_2x2, 2, 2, 3).tiff({ compression: "lzw" }),
    };
    for (const [name, pipeline] of Object.entries(files)) {
      await pipeline.toFile(join(dir, name));
      assertClose(await readImageFile(join(dir, name), SPEC), RGB_NCHW, 1e-6, name);
    }
  });
});

Deno.test("readImageFile: NHWC layout and per-channel mean/std", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "x.png");
    await raw(RGB_2x2, 2, 2, 3).png().toFile(path);
    assertClose(await readImageFile(path, { ...SPEC, layout: "NHWC" }), RGB_2x2.map((p) => p / 255));
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const t = await readImageFile(path, { ...SPEC, layout: "NHWC", mean, std });
    assertClose(t, RGB_2x2.map((p, i) => (p / 255 - mean[i % 3]!) / std[i % 3]!), 1e-5);
  });
});

Deno.test("readImageFile: JPEG of a flat colour decodes to that colour (lossy, ±2/255)", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "flat.JPEG");
    await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 100, b: 50 } } })
      .jpeg({ quality: 100 })
      .toFile(path);
    const t = await readImageFile(path, { ...SPEC, width: 16, height: 16, layout: "NHWC" });
    assertClose(t, new Array(16 * 16).fill([200, 100, 50]).flat().map((p: number) => p / 255), 2 / 255);
  });
});

Deno.test("readImageFile: grayscale model input", async () => {
  await withTempDir(async (dir) => {
    const gray: ImagePreprocess = { ...SPEC, channels: 1, mean: [0.5], std: [0.25] };
    // equal R=G=B: the gray value is exact
    const equal = join(dir, "equal.png");
    await raw([0, 0, 0, 51, 51, 51, 200, 200, 200, 255, 255, 255], 2, 2, 3).png().toFile(equal);
    assertClose(await readImageFile(equal, gray), [0, 51, 200, 255].map((p) => (p / 255 - 0.5) / 0.25), 1e-5);
    // colours: sRGB luminance computed independently, within one 8-bit step
    const colour = join(dir, "colour.png");
    await raw(RGB_2x2, 2, 2, 3).png().toFile(colour);
    const t = await readImageFile(colour, { ...SPEC, channels: 1 });
    const expected = [0, 1, 2, 3].map((i) => srgbLuminance(RGB_2x2[3 * i]!, RGB_2x2[3 * i + 1]!, RGB_2x2[3 * i + 2]!));
    assertClose(t, expected.map((p) => p / 255), 1 / 255, "luminance");
    // a 1-channel PNG feeds a 1-channel model unchanged, and a 3-channel model with the value replicated
    const one = join(dir, "one.png");
    await raw([7, 70, 140, 210], 2, 2, 1).png().toFile(one);
    assertClose(await readImageFile(one, { ...SPEC, channels: 1 }), [7, 70, 140, 210].map((p) => p / 255));
    assertClose(
      await readImageFile(one, SPEC),
      [7, 70, 140, 210, 7, 70, 140, 210, 7, 70, 140, 210].map((p) => p / 255),
    );
  });
});

Deno.test("readImageFile: RGBA and gray+alpha PNGs drop alpha without compositing", async () => {
  await withTempDir(async (dir) => {
    const rgba = join(dir, "rgba.png");
    // alpha 0, 128, 255, 4: colours must come through unchanged
    await raw([255, 0, 0, 0, 0, 255, 0, 128, 0, 0, 255, 255, 10, 20, 30, 4], 2, 2, 4).png().toFile(rgba);
    assertClose(await readImageFile(rgba, SPEC), RGB_NCHW);
    const ga = join(dir, "ga.png");
    await raw([10, 0, 20, 255, 30, 9, 40, 99], 2, 2, 2).png().toFile(ga);
    assertClose(await readImageFile(ga, { ...SPEC, channels: 1 }), [10, 20, 30, 40].map((p) => p / 255));
  });
});

Deno.test("readImageFile: 16-bit PNG is scaled to 8 bits", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "deep.png");
    await raw(RGB_2x2, 2, 2, 3).toColourspace("rgb16").png().toFile(path);
    assert.equal((await sharp(path).metadata()).depth, "ushort");
    assertClose(await readImageFile(path, SPEC), RGB_NCHW);
  });
});

Deno.test("readImageFile: EXIF orientation 6 is applied before the size check", async () => {
  await withTempDir(async (dir) => {
    // stored 2 wide × 1 high: A=(10,10,10) B=(200,200,200); orientation 6 = rotate 90° clockwise to display
    const path = join(dir, "rotated.png");
    await raw([10, 10, 10, 200, 200, 200], 2, 1, 3).png().withMetadata({ orientation: 6 }).toFile(path);
    assert.equal((await sharp(path).metadata()).orientation, 6);
    const spec: ImagePreprocess = { ...SPEC, width: 1, height: 2, channels: 1 };
    // displayed 1 wide × 2 high, A on top
    assertClose(await readImageFile(path, spec, { resize: false }), [10 / 255, 200 / 255]);
    // the same in a JPEG (flat halves survive compression closely)
    const jpeg = join(dir, "rotated.jpg");
    await raw([...new Array(64).fill(10), ...new Array(64).fill(200)], 8, 16, 1)
      .rotate(90)
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 8 }) // undo the rotation on display: top half 10, bottom half 200
      .toFile(jpeg);
    const t = await readImageFile(jpeg, { ...spec, width: 8, height: 16 }, { resize: false });
    assertClose(t.subarray(0, 48), new Array(48).fill(10 / 255), 3 / 255, "top");
    assertClose(t.subarray(80), new Array(48).fill(200 / 255), 3 / 255, "bottom");
  });
});

Deno.test("readImageFile: resizes to the model's size (fit: fill)", async () => {
  await withTempDir(async (dir) => {
    const big = join(dir, "big.png");
    await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 30, g: 60, b: 90 } } }).png().toFile(
      big,
    );
    const t = await readImageFile(big, SPEC);
    assertClose(t, [30, 30, 30, 30, 60, 60, 60, 60, 90, 90, 90, 90].map((p) => p / 255));
    // aspect ratio is not kept: 1×1 → 3×2
    const dot = join(dir, "dot.png");
    await raw([40, 40, 40], 1, 1, 3).png().toFile(dot);
    assertClose(await readImageFile(dot, { ...SPEC, width: 3, height: 2, channels: 1 }), new Array(6).fill(40 / 255));
  });
});

Deno.test("readImageFile: BMP and Netpbm go through the built-in decoders", async () => {
  await withTempDir(async (dir) => {
    // 2×2 24-bit bottom-up BMP of RGB_2x2: rows of 6 bytes padded to 8, stored bottom row first as B, G, R
    const bmp = new Uint8Array(54 + 16);
    const v = new DataView(bmp.buffer);
    bmp.set([0x42, 0x4d]);
    v.setUint32(2, bmp.length, true);
    v.setUint32(10, 54, true);
    v.setUint32(14, 40, true);
    v.setInt32(18, 2, true);
    v.setInt32(22, 2, true);
    v.setUint16(26, 1, true);
    v.setUint16(28, 24, true);
    bmp.set([255, 0, 0, 30, 20, 10], 54); // bottom row: blue, (10, 20, 30)
    bmp.set([0, 0, 255, 0, 255, 0], 62); // top row: red, green
    await Deno.writeFile(join(dir, "a.bmp"), bmp);
    await Deno.writeFile(join(dir, "b.DIB"), bmp);
    const header = new TextEncoder().encode("P6\n2 2\n255\n");
    await Deno.writeFile(join(dir, "c.ppm"), new Uint8Array([...header, ...RGB_2x2]));
    const pgm = new TextEncoder().encode("P5 2 2 255\n");
    await Deno.writeFile(join(dir, "d.pgm"), new Uint8Array([...pgm, 0, 85, 170, 255]));
    await Deno.writeFile(join(dir, "e.pbm"), new Uint8Array([...new TextEncoder().encode("P4 2 2\n"), 0x80, 0x40]));

    for (const name of ["a.bmp", "b.DIB", "c.ppm"]) {
      assertClose(await readImageFile(join(dir, name), SPEC), RGB_NCHW, 1e-6, name);
    }
    assertClose(await readImageFile(join(dir, "d.pgm"), { ...SPEC, channels: 1 }), [0, 1 / 3, 2 / 3, 1]);
    assertClose(await readImageFile(join(dir, "e.pbm"), { ...SPEC, channels: 1 }), [0, 1, 1, 0]);
    // the decoded raw pixels also get resized and channel-converted
    assertClose(await readImageFile(join(dir, "d.pgm"), { ...SPEC, width: 1, height: 1 }), [0.5, 0.5, 0.5], 0.02);
  });
});

Deno.test("listImageFiles: every listed extension, any case, sorted; skips others, hidden files and folders", async () => {
  await withTempDir(async (dir) => {
    const names = IMAGE_EXTENSIONS.map((ext, i) =>
      `img${String(i).padStart(2, "0")}${i % 2 ? ext.toUpperCase() : ext}`
    );
    for (const name of [...names].reverse()) await Deno.writeFile(join(dir, name), new Uint8Array());
    for (const name of ["notes.txt", "model.onnx", ".hidden.png", "png", "anim.gif"]) {
      await Deno.writeFile(join(dir, name), new Uint8Array());
    }
    await Deno.mkdir(join(dir, "sub.png"));
    await Deno.writeFile(join(dir, "sub.png", "inner.png"), new Uint8Array());
    await Deno.symlink(join(dir, "img00.png"), join(dir, "link.png"));
    await Deno.symlink(join(dir, "missing.png"), join(dir, "dangling.png"));
    // code-unit order: upper case sorts before lower case, independent of the locale
    await Deno.writeFile(join(dir, "Zebra.png"), new Uint8Array());
    assert.deepEqual(await listImageFiles(dir), ["Zebra.png", ...names, "link.png"].map((n) => join(dir, n)));
  });
});

Deno.test("readImageFolder: name order, limit, strict size with the input's name", async () => {
  await withTempDir(async (dir) => {
    await raw(RGB_2x2, 2, 2, 3).png().toFile(join(dir, "02.png"));
    await raw([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 2, 2, 3).png().toFile(join(dir, "01.png"));
    await sharp({ create: { width: 32, height: 32, channels: 3, background: "#808080" } }).png()
      .toFile(join(dir, "03.png"));
    const all = await collect(readImageFolder(dir, SPEC));
    assert.deepEqual(all.map((s) => s.file), ["01.png", "02.png", "03.png"].map((n) => join(dir, n)));
    assertClose(all[0]!.tensor, new Array(12).fill(0));
    assertClose(all[1]!.tensor, RGB_NCHW);
    assert.equal(all[2]!.tensor.length, 12);

    const two = await collect(readImageFolder(dir, SPEC, { limit: 2, resize: false }));
    assert.equal(two.length, 2);

    const big = join(dir, "03.png");
    await assert.rejects(
      collect(readImageFolder(dir, SPEC, { resize: false, inputName: "pixel_values" })),
      (e: Error) =>
        e instanceof DataError && e.message === `Image ${big} is 32×32 but the model input pixel_values needs 2×2`,
    );
    await assert.rejects(readImageFile(big, SPEC, { resize: false }), {
      name: "DataError",
      message: `Image ${big} is 32×32 but the model input needs 2×2`,
    });
    await assert.rejects(collect(readImageFolder(dir, SPEC, { limit: 0 })), /limit must be a positive integer, got 0/);
  });
});

Deno.test("errors: one DataError naming the folder or file", async () => {
  await withTempDir(async (dir) => {
    const missing = join(dir, "nope");
    await assert.rejects(collect(readImageFolder(missing, SPEC)), {
      name: "DataError",
      message: `Calibration folder not found: ${missing}`,
    });
    const file = join(dir, "file.png");
    await raw(RGB_2x2, 2, 2, 3).png().toFile(file);
    await assert.rejects(listImageFiles(file), {
      name: "DataError",
      message: `Calibration path is not a folder: ${file}`,
    });

    const empty = join(dir, "empty");
    await Deno.mkdir(empty);
    await Deno.writeFile(join(empty, "readme.txt"), new Uint8Array([1]));
    await assert.rejects(listImageFiles(empty), {
      name: "DataError",
      message: `No calibration images (${IMAGE_EXTENSIONS.join(", ")}) in ${empty}`,
    });

    const bad = join(dir, "bad");
    await Deno.mkdir(bad);
    const cases: Record<string, [Uint8Array, RegExp]> = {
      "garbage.png": [new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), /unsupported image format/],
      "empty.jpg": [new Uint8Array(), /empty/],
      "cut.png": [(await raw(RGB_2x2, 2, 2, 3).png().toBuffer()).subarray(0, 30), /./],
      "cut.bmp": [new Uint8Array([0x42, 0x4d, 0, 0]), /truncated/],
      "cut.ppm": [new TextEncoder().encode("P6\n4 4\n255\nabc"), /truncated: pixel data needs 48 bytes/],
      "rle.bmp": [rleBmp(), /RLE8 compression is not supported/],
    };
    for (const [name, [bytes, why]] of Object.entries(cases)) {
      const path = join(bad, name);
      await Deno.writeFile(path, bytes);
      await assert.rejects(readImageFile(path, SPEC), (e: Error) => {
        assert.ok(e instanceof DataError, `${name}: ${e}`);
        assert.ok(e.message.startsWith(`Cannot decode image ${path}: `), e.message);
        assert.match(e.message, why);
        return true;
      });
    }
    // the folder reader stops at the first bad file (in name order) with the same message
    await assert.rejects(collect(readImageFolder(bad, SPEC)), {
      message: /^Cannot decode image .*cut\.bmp: truncated/,
    });

    // a bad spec is reported as such, before any file is touched
    await assert.rejects(collect(readImageFolder(missing, { ...SPEC, mean: [1, 2] })), {
      message: "mean has 2 values but the input has 3 channels",
    });
  });
});

function rleBmp(): Uint8Array {
  const b = new Uint8Array(70);
  const v = new DataView(b.buffer);
  b.set([0x42, 0x4d]);
  v.setUint32(10, 58, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, 1, true);
  v.setInt32(22, 1, true);
  v.setUint16(28, 8, true);
  v.setUint32(30, 1, true);
  return b;
}
