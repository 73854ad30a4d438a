import assert from "node:assert/strict";
import { decodeBmp, isBmp } from "./bmp.ts";

interface BmpParts {
  width: number;
  height: number; // negative: top-down
  bpp: number;
  rows: number[][]; // stored order (bottom row first unless top-down), without padding
  headerSize?: number; // 12, 40 (default), 108, 124
  compression?: number;
  palette?: number[][]; // [r, g, b]
  masks?: number[]; // [r, g, b] bit-field masks
  dropLastPadding?: boolean;
}

/** Writes a BMP byte by byte, following the Microsoft layout, so the decoder is checked against the spec. */
function buildBmp(p: BmpParts): Uint8Array {
  const headerSize = p.headerSize ?? 40;
  const stride = Math.floor((p.bpp * p.width + 31) / 32) * 4;
  const entry = headerSize === 12 ? 3 : 4;
  const masksAfterHeader = headerSize === 40 && p.masks ? 12 : 0;
  const dataOffset = 14 + headerSize + masksAfterHeader + (p.palette?.length ?? 0) * entry;
  let size = dataOffset + stride * p.rows.length;
  if (p.dropLastPadding) size -= stride - Math.ceil((p.bpp * p.width) / 8);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  out.set([0x42, 0x4d]);
  v.setUint32(2, size, true);
  v.setUint32(10, dataOffset, true);
  v.setUint32(14, headerSize, true);
  if (headerSize === 12) {
    v.setUint16(18, p.width, true);
    v.setUint16(20, p.height, true);
    v.setUint16(22, 1, true);
    v.setUint16(24, p.bpp, true);
  } else {
    v.setInt32(18, p.width, true);
    v.setInt32(22, p.height, true);
    v.setUint16(26, 1, true);
    v.setUint16(28, p.bpp, true);
    v.setUint32(30, p.compression ?? (p.masks ? 3 : 0), true);
    v.setUint32(46, p.palette?.length ?? 0, true);
    p.masks?.forEach((m, i) => v.setUint32(54 + 4 * i, m, true));
  }
  p.palette?.forEach(([r, g, b], i) => out.set([b!, g!, r!], 14 + headerSize + masksAfterHeader + i * entry));
  p.rows.forEach((row, y) => out.set(row, dataOffset + y * stride));
  return out;
}

Deno.test("decodeBmp: 24-bit bottom-up with row padding", () => {
  // 3×2: top row red, green, blue; bottom row white, black, gray. Stored bottom row first, as B, G, R.
  const file = buildBmp({
    width: 3,
    height: 2,
    bpp: 24,
    rows: [[255, 255, 255, 0, 0, 0, 128, 128, 128], [0, 0, 255, 0, 255, 0, 255, 0, 0]],
  });
  const image = decodeBmp(file);
  assert.deepEqual([image.width, image.height, image.channels], [3, 2, 3]);
  assert.deepEqual(Array.from(image.data), [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128]);
});

Deno.test("decodeBmp: top-down rows (negative height) and a missing last-row padding", () => {
  const image = decodeBmp(
    buildBmp({ width: 1, height: -2, bpp: 24, rows: [[1, 2, 3], [4, 5, 6]], dropLastPadding: true }),
  );
  assert.deepEqual([image.width, image.height], [1, 2]);
  assert.deepEqual(Array.from(image.data), [3, 2, 1, 6, 5, 4]);
});

Deno.test("decodeBmp: 32-bit BI_RGB ignores the fourth byte", () => {
  const image = decodeBmp(buildBmp({ width: 2, height: 1, bpp: 32, rows: [[10, 20, 30, 0, 40, 50, 60, 255]] }));
  assert.deepEqual(Array.from(image.data), [30, 20, 10, 60, 50, 40]);
});

Deno.test("decodeBmp: 32-bit bit fields with a V5 header (RGBA masks), alpha dropped", () => {
  // masks R=0x000000ff, G=0x0000ff00, B=0x00ff0000: byte order R, G, B, A
  const file = buildBmp({
    width: 1,
    height: 1,
    bpp: 32,
    headerSize: 124,
    masks: [0x000000ff, 0x0000ff00, 0x00ff0000],
    rows: [[11, 22, 33, 44]],
  });
  assert.deepEqual(Array.from(decodeBmp(file).data), [11, 22, 33]);
});

Deno.test("decodeBmp: 16-bit 5-5-5 default and 5-6-5 bit fields", () => {
  // 0x7fff = white, 0x7c00 = red in 5-5-5
  const x555 = decodeBmp(buildBmp({ width: 2, height: 1, bpp: 16, rows: [[0xff, 0x7f, 0x00, 0x7c]] }));
  assert.deepEqual(Array.from(x555.data), [255, 255, 255, 255, 0, 0]);
  // 5-6-5: 0x07e0 = green, 0x0010 = blue at 16/31
  const x565 = decodeBmp(
    buildBmp({ width: 2, height: 1, bpp: 16, masks: [0xf800, 0x07e0, 0x001f], rows: [[0xe0, 0x07, 0x10, 0x00]] }),
  );
  assert.deepEqual(Array.from(x565.data), [0, 255, 0, 0, 0, Math.round((16 * 255) / 31)]);
});

Deno.test("decodeBmp: 8-, 4- and 1-bit palettes", () => {
  const gray = Array.from({ length: 256 }, (_, i) => [i, i, i]);
  const p8 = decodeBmp(buildBmp({ width: 3, height: 1, bpp: 8, palette: gray, rows: [[0, 100, 255]] }));
  assert.deepEqual(Array.from(p8.data), [0, 0, 0, 100, 100, 100, 255, 255, 255]);

  const colours = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]];
  const p4 = decodeBmp(buildBmp({ width: 3, height: 1, bpp: 4, palette: colours, rows: [[0x12, 0x30]] }));
  assert.deepEqual(Array.from(p4.data), [255, 0, 0, 0, 255, 0, 0, 0, 255]);

  const bw = [[0, 0, 0], [255, 255, 255]];
  const p1 = decodeBmp(buildBmp({ width: 9, height: 1, bpp: 1, palette: bw, rows: [[0b10100000, 0b10000000]] }));
  assert.deepEqual(
    Array.from(p1.data).filter((_, i) => i % 3 === 0),
    [255, 0, 255, 0, 0, 0, 0, 0, 255],
  );
});

Deno.test("decodeBmp: OS/2 core header with 3-byte palette entries", () => {
  const file = buildBmp({
    width: 2,
    height: 1,
    bpp: 8,
    headerSize: 12,
    palette: [[9, 8, 7], [1, 2, 3]],
    rows: [[1, 0]],
  });
  assert.deepEqual(Array.from(decodeBmp(file).data), [1, 2, 3, 9, 8, 7]);
});

Deno.test("decodeBmp: clear reasons for bad or unsupported files", () => {
  const good = buildBmp({ width: 2, height: 2, bpp: 24, rows: [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]] });
  assert.throws(() => decodeBmp(new Uint8Array([0x89, 0x50])), /not a BMP file/);
  assert.throws(() => decodeBmp(good.subarray(0, 20)), /truncated: 20 bytes is shorter than the BMP headers/);
  assert.throws(() => decodeBmp(good.subarray(0, good.length - 4)), /truncated: pixel data needs 68 bytes/);
  assert.throws(
    () => decodeBmp(buildBmp({ width: 1, height: 1, bpp: 8, compression: 1, palette: [[0, 0, 0]], rows: [[0]] })),
    /RLE8 compression is not supported/,
  );
  assert.throws(() => decodeBmp(buildBmp({ width: 1, height: 1, bpp: 2, rows: [[0]] })), /2 bits per pixel/);
  assert.throws(() => decodeBmp(buildBmp({ width: 0, height: 1, bpp: 24, rows: [] })), /image size 0×1 is empty/);
  assert.throws(
    () => decodeBmp(buildBmp({ width: 1, height: 1, bpp: 8, palette: [[0, 0, 0]], rows: [[5]] })),
    /palette index 5 is out of range \(1 colours\)/,
  );
  assert.throws(() => decodeBmp(buildBmp({ width: 1, height: 1, bpp: 8, rows: [[0]] })), /8-bit image has no palette/);
  const oddHeader = good.slice();
  new DataView(oddHeader.buffer).setUint32(14, 20, true);
  assert.throws(() => decodeBmp(oddHeader), /unknown BMP header size 20/);
});

Deno.test("decodeBmp: random truncations and byte flips only ever throw plain reasons", () => {
  const files = [
    buildBmp({ width: 3, height: 2, bpp: 24, rows: [[1, 2, 3, 4, 5, 6, 7, 8, 9], [9, 8, 7, 6, 5, 4, 3, 2, 1]] }),
    buildBmp({ width: 5, height: -1, bpp: 4, palette: [[1, 2, 3], [4, 5, 6]], rows: [[0x01, 0x10, 0x00]] }),
    buildBmp({ width: 1, height: 1, bpp: 32, headerSize: 108, masks: [0xff, 0xff00, 0xff0000], rows: [[1, 2, 3, 4]] }),
  ];
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let n = 0; n < 600; n++) {
    const valid = files[n % files.length]!;
    const bytes = valid.slice(0, Math.floor(random() * (valid.length + 1)));
    if (n % 2 && bytes.length > 2) bytes[2 + Math.floor(random() * (bytes.length - 2))] = Math.floor(random() * 256);
    try {
      const image = decodeBmp(bytes);
      assert.equal(image.data.length, image.width * image.height * 3);
    } catch (e) {
      assert.equal((e as Error).constructor, Error, `unexpected ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
});

Deno.test("isBmp", () => {
  assert.equal(isBmp(new Uint8Array([0x42, 0x4d, 0])), true);
  assert.equal(isBmp(new Uint8Array([0x42])), false);
});
