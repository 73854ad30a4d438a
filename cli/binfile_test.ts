import assert from "node:assert/strict";
import { mulberry32 } from "../core/calib/_test_rng.ts";
import { encodeBinFile, parseBinFile } from "./binfile.ts";
import { DataError } from "./images.ts";

/** The seed's own example header: 610, rank 3, dims 50 × 100 × 300 (offsets 0, 4, 8, 12, 16). */
Deno.test("610: the seed's layout, byte for byte", () => {
  const bytes = encodeBinFile(610, [2, 1, 3], new Float32Array([1, 2, 3, 4, 5, 6]));
  const view = new DataView(bytes.buffer);
  assert.deepEqual([0, 4, 8, 12, 16].map((o) => view.getInt32(o, true)), [610, 3, 2, 1, 3]);
  assert.equal(view.getFloat32(20, true), 1);
  assert.equal(bytes.length, 20 + 6 * 4);
  const t = parseBinFile(bytes, "x.bin");
  assert.deepEqual([t.magic, t.dims, Array.from(t.data)], [610, [2, 1, 3], [1, 2, 3, 4, 5, 6]]);
});

Deno.test("510: N, C, H, W then float32", () => {
  const bytes = encodeBinFile(510, [1, 2, 1, 2], new Float32Array([0.5, 1.5, 2.5, 3.5]));
  const view = new DataView(bytes.buffer);
  assert.deepEqual([0, 4, 8, 12, 16].map((o) => view.getInt32(o, true)), [510, 1, 2, 1, 2]);
  const t = parseBinFile(bytes, "y.bin");
  assert.deepEqual([t.magic, t.dims, Array.from(t.data)], [510, [1, 2, 1, 2], [0.5, 1.5, 2.5, 3.5]]);
});

Deno.test("bad files: one clear DataError naming the file", () => {
  const good = encodeBinFile(610, [2, 2], new Float32Array(4));
  const withMagic = (m: number) => {
    const b = good.slice();
    new DataView(b.buffer).setInt32(0, m, true);
    return b;
  };
  const cases: [Uint8Array, RegExp][] = [
    [withMagic(611), /bad\.bin has magic number 611, not 610 or 510/],
    [good.subarray(0, good.length - 2), /bad\.bin is truncated: dims \[2, 2\] need 4 float32 values, the file holds 3/],
    [new Uint8Array([...good, 0, 0, 0, 0]), /bad\.bin has 4 bytes past the 4 float32 values/],
    [good.subarray(0, 3), /bad\.bin is 3 bytes, too short/],
    [encodeBinFile(610, [0, 2], new Float32Array(0)), /dimensions \[0, 2\] must all be positive/],
    [new Uint8Array(new Int32Array([610, 99]).buffer), /declares rank 99/],
    [new Uint8Array(new Int32Array([510, 1, 1]).buffer), /the 510 header needs 20 bytes/],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(
      () => parseBinFile(bytes, "bad.bin"),
      (e: unknown) => e instanceof DataError && pattern.test(e.message),
    );
  }
});

Deno.test("fuzz: random bytes, random headers and truncations never crash, hang or throw anything but DataError", () => {
  const random = mulberry32(610);
  const good = encodeBinFile(610, [3, 2, 2], Float32Array.from({ length: 12 }, (_, i) => i));
  const good510 = encodeBinFile(510, [1, 3, 2, 2], Float32Array.from({ length: 12 }, (_, i) => i));
  const start = performance.now();
  for (let i = 0; i < 3000; i++) {
    let bytes: Uint8Array;
    const kind = i % 4;
    if (kind === 0) {
      bytes = Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256));
    } else if (kind === 1) {
      // a plausible header with random ranks and dims (including huge and negative ones)
      const ints = Array.from({ length: 2 + Math.floor(random() * 6) }, () => Math.floor((random() - 0.3) * 2 ** 31));
      ints[0] = random() < 0.5 ? 610 : 510;
      if (random() < 0.5) ints[1] = Math.floor(random() * 5);
      bytes = new Uint8Array(new Int32Array(ints).buffer);
    } else {
      const base = kind === 2 ? good : good510;
      bytes = base.slice(0, Math.floor(random() * (base.length + 1)));
      if (random() < 0.5 && bytes.length > 0) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    }
    try {
      parseBinFile(bytes, "fuzz.bin");
    } catch (e) {
      assert.ok(e instanceof DataError, `${(e as Error).name}: ${(e as Error).message}`);
      assert.match(e.message, /fuzz\.bin/);
    }
  }
  assert.ok(performance.now() - start < 5000, "3000 parses take well under 5 s");
});
