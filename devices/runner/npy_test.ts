import assert from "node:assert/strict";
import { decodeNpy, encodeNpy } from "./npy.ts";

Deno.test("encodeNpy writes numpy's layout: magic, v1.0, 64-byte aligned header, C-order payload", () => {
  const bytes = encodeNpy(new Float32Array([1.5, -2, 3, 4, 5, 6]), [2, 3]);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const headerLength = bytes[8]! | (bytes[9]! << 8);
  assert.equal((10 + headerLength) % 64, 0);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
  assert.equal(header.trimEnd(), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  assert.ok(header.endsWith("\n"));
  assert.deepEqual([...new Float32Array(bytes.slice(10 + headerLength).buffer)], [1.5, -2, 3, 4, 5, 6]);
});

Deno.test("decodeNpy reads back every dtype, 1-D and scalar shapes", () => {
  const cases = [
    { data: new Int8Array([-128, 0, 127]), shape: [3] },
    { data: new Uint8Array([0, 255]), shape: [2, 1] },
    { data: new Int16Array([-32768, 32767]), shape: [2] },
    { data: new Int32Array([7]), shape: [] },
    { data: new BigInt64Array([-1n, 2n ** 40n]), shape: [1, 2] },
  ];
  for (const c of cases) {
    const back = decodeNpy(encodeNpy(c.data, c.shape));
    assert.deepEqual(back.shape, c.shape);
    assert.deepEqual([...back.data], [...c.data]);
    assert.equal(back.data.constructor, c.data.constructor);
  }
});

Deno.test("decodeNpy names the file and the problem", () => {
  const good = encodeNpy(new Float32Array(4), [4]);
  assert.throws(() => decodeNpy(good.subarray(0, 5), "x.npy"), /x\.npy: bad magic/);
  assert.throws(
    () => decodeNpy(good.subarray(0, good.length - 1), "x.npy"),
    /x\.npy: shape \[4\] needs 16 bytes, has 15/,
  );
  const fortran = good.slice();
  const at = new TextDecoder("latin1").decode(fortran).indexOf("False");
  fortran.set(new TextEncoder().encode("True "), at);
  assert.throws(() => decodeNpy(fortran), /not C order/);
  assert.throws(() => encodeNpy(new Float32Array(3), [2, 2]), /needs 4 values, got 3/);
});
