import assert from "node:assert/strict";
import { decodePnm, isPnm } from "./pnm.ts";

function pnm(header: string, raster: number[] | string = []): Uint8Array {
  const head = new TextEncoder().encode(header);
  const body = typeof raster === "string" ? new TextEncoder().encode(raster) : new Uint8Array(raster);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

Deno.test("decodePnm: P6 binary RGB with a comment in the header", () => {
  const image = decodePnm(pnm("P6 # made by hand\n2 2\n255\n", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
  assert.deepEqual([image.width, image.height, image.channels], [2, 2, 3]);
  assert.deepEqual(Array.from(image.data), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
});

Deno.test("decodePnm: P5 binary gray; a raster byte equal to whitespace is data", () => {
  // 0x0a (newline) as the first pixel must not be eaten as header whitespace
  const image = decodePnm(pnm("P5\n3 1\n255\n", [0x0a, 0x20, 200]));
  assert.deepEqual([image.width, image.height, image.channels], [3, 1, 1]);
  assert.deepEqual(Array.from(image.data), [10, 32, 200]);
});

Deno.test("decodePnm: maxval other than 255 is rescaled, 16-bit is big-endian", () => {
  assert.deepEqual(Array.from(decodePnm(pnm("P5 3 1 15\n", [0, 5, 15])).data), [0, 85, 255]);
  const wide = decodePnm(pnm("P5 2 1 65535\n", [0xff, 0xff, 0x80, 0x00]));
  assert.deepEqual(Array.from(wide.data), [255, Math.round((0x8000 * 255) / 65535)]);
});

Deno.test("decodePnm: P4 packed bits, rows padded to a byte, 1 is black", () => {
  // 10×2: row 0 = 1000000001, row 1 = 0111111110
  const image = decodePnm(pnm("P4\n10 2\n", [0b10000000, 0b01000000, 0b01111111, 0b10000000]));
  assert.deepEqual([image.width, image.height, image.channels], [10, 2, 1]);
  const expected = [1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0].map((b) => (b ? 0 : 255));
  assert.deepEqual(Array.from(image.data), expected);
});

Deno.test("decodePnm: plain P1, P2 and P3", () => {
  assert.deepEqual(Array.from(decodePnm(pnm("P1\n3 2\n", "1 0 1\n010")).data), [0, 255, 0, 255, 0, 255]);
  assert.deepEqual(Array.from(decodePnm(pnm("P2\n2 2\n10\n", "0 10\n# half\n5 10")).data), [0, 255, 128, 255]);
  const p3 = decodePnm(pnm("P3 1 2 255\n", "255 0 0\n0 0 255\n"));
  assert.deepEqual([p3.width, p3.height, p3.channels], [1, 2, 3]);
  assert.deepEqual(Array.from(p3.data), [255, 0, 0, 0, 0, 255]);
});

Deno.test("decodePnm: clear reasons for bad files", () => {
  assert.throws(() => decodePnm(pnm("P7\n")), /not a Netpbm file/);
  assert.throws(() => decodePnm(pnm("P6\n2")), /truncated: header ends before the height/);
  assert.throws(() => decodePnm(pnm("P6\n2 x\n")), /height is not a number/);
  assert.throws(() => decodePnm(pnm("P6\n0 2 255\n")), /image size 0×2 is empty/);
  assert.throws(() => decodePnm(pnm("P5\n2 2 0\n")), /maxval 0 is out of range/);
  assert.throws(() => decodePnm(pnm("P5\n2 2 70000\n")), /maxval 70000 is out of range/);
  assert.throws(
    () => decodePnm(pnm("P6\n2 2 255\n", [1, 2, 3])),
    /truncated: pixel data needs 12 bytes but the file has 3/,
  );
  assert.throws(() => decodePnm(pnm("P5\n2 1 15\n", [3, 16])), /sample 1 is 16, above maxval 15/);
  assert.throws(() => decodePnm(pnm("P2\n2 2 255\n", "1 2 3")), /truncated: 3 of 4 samples present/);
  assert.throws(() => decodePnm(pnm("P1\n2 1\n", "02")), /sample 1 is not 0 or 1/);
  assert.throws(() => decodePnm(pnm("P5\n99999999999 1 255\n")), /width is too large/);
  // a huge size the file cannot hold fails before any allocation
  assert.throws(() => decodePnm(pnm("P2\n100000 100000 255\n", "1 2 3")), /truncated/);
});

Deno.test("decodePnm: random truncations and byte flips only ever throw plain reasons", () => {
  const valid = pnm("P6\n# c\n5 4\n255\n", Array.from({ length: 60 }, (_, i) => i * 4));
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let n = 0; n < 500; n++) {
    const bytes = valid.slice(0, Math.floor(random() * (valid.length + 1)));
    if (n % 2 && bytes.length > 0) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    try {
      const image = decodePnm(bytes);
      assert.equal(image.data.length, image.width * image.height * image.channels);
    } catch (e) {
      assert.equal((e as Error).constructor, Error, `unexpected ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
});

Deno.test("isPnm", () => {
  assert.equal(isPnm(pnm("P4")), true);
  assert.equal(isPnm(pnm("P")), false);
  assert.equal(isPnm(pnm("BM")), false);
});
