import assert from "node:assert/strict";
import { decodeNpy, encodeNpy } from "./npy.ts";

Deno.test("encodeNpy: header is 64-byte aligned, ends in a newline and round-trips the values", () => {
  const data = new Float32Array([0, -1.5, 3.25, Number.MAX_VALUE, -0, 1e-40]);
  for (const shape of [[6], [2, 3], [1, 1, 2, 3]]) {
    const bytes = encodeNpy({ data, shape });
    const headerLength = new DataView(bytes.buffer).getUint16(8, true);
    assert.equal((10 + headerLength) % 64, 0);
    assert.equal(bytes[10 + headerLength - 1], 0x0a);
    const back = decodeNpy(bytes, "x.npy");
    assert.deepEqual(back.shape, shape);
    assert.deepEqual(Array.from(back.data), Array.from(data));
  }
});

Deno.test("encodeNpy: a 1-D shape is written as a one-element tuple", () => {
  const header = new TextDecoder().decode(encodeNpy({ data: new Float32Array(3), shape: [3] }).subarray(10));
  assert.match(header, /'shape': \(3,\)/);
});

Deno.test("encodeNpy/decodeNpy: errors name the problem", () => {
  assert.throws(() => encodeNpy({ data: new Float32Array(5), shape: [2, 3] }), /needs 6 values, got 5/);
  const bytes = encodeNpy({ data: new Float32Array(4), shape: [4] });
  assert.throws(() => decodeNpy(bytes.subarray(0, bytes.length - 4), "t.npy"), /Cannot read t\.npy as \.npy: shape/);
  const f8 = bytes.slice();
  f8.set(new TextEncoder().encode("<f8"), new TextDecoder().decode(bytes).indexOf("<f4"));
  assert.throws(() => decodeNpy(f8, "d.npy"), /dtype <f8 is not little-endian float32/);
  assert.throws(() => decodeNpy(new Uint8Array(12), "z.npy"), /no \\x93NUMPY magic/);
});
