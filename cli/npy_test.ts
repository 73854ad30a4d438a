import assert from "node:assert/strict";
import { zipSync } from "fflate";
import { mulberry32 } from "../core/calib/_test_rng.ts";
import { DataError } from "./images.ts";
import { encodeNpy, isNpy, parseNpy, parseNpz } from "./npy.ts";

/** A .npy file with any header and raw data, as NumPy writes it (versions 1, 2, 3). */
function npy(header: string, data: Uint8Array, major = 1): Uint8Array {
  const text = new TextEncoder().encode(header);
  const pre = major === 1 ? 10 : 12;
  const pad = (64 - ((pre + text.length + 1) % 64)) % 64;
  const h = new Uint8Array(text.length + pad + 1).fill(0x20);
  h.set(text);
  h[h.length - 1] = 0x0a;
  const out = new Uint8Array(pre + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, h.length, true);
  else view.setUint32(8, h.length, true);
  out.set(h, pre);
  out.set(data, pre + h.length);
  return out;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

Deno.test(".npy: versions 1, 2 and 3 and the dtypes NumPy writes, converted to float32", () => {
  const f4 = bytesOf(new Float32Array([1.5, -2, 3, 4]));
  for (const major of [1, 2, 3]) {
    const a = parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f4, major), "a.npy");
    assert.deepEqual([a.dims, Array.from(a.data)], [[2, 2], [1.5, -2, 3, 4]]);
  }
  const cases: [string, Uint8Array, number[]][] = [
    ["<f8", bytesOf(new Float64Array([0.25, -1])), [0.25, -1]],
    ["|u1", new Uint8Array([0, 255]), [0, 255]],
    ["|i1", new Uint8Array([0xff, 1]), [-1, 1]],
    ["<i2", bytesOf(new Int16Array([-300, 7])), [-300, 7]],
    [">i2", new Uint8Array([0xfe, 0xd4, 0, 7]), [-300, 7]],
    ["<u4", bytesOf(new Uint32Array([4e9, 1])), [4e9, 1]],
    ["<i8", bytesOf(new BigInt64Array([-5n, 9n])), [-5, 9]],
    ["<f2", new Uint8Array([0x00, 0x3c, 0x00, 0xc0]), [1, -2]],
    ["|b1", new Uint8Array([0, 3]), [0, 1]],
    [">f4", new Uint8Array([0x3f, 0xc0, 0, 0, 0, 0, 0, 0]), [1.5, 0]],
  ];
  for (const [descr, data, values] of cases) {
    const a = parseNpy(npy(`{'descr': '${descr}', 'fortran_order': False, 'shape': (2,), }`, data), "a.npy");
    assert.deepEqual(Array.from(a.data), values, descr);
  }
  const round = parseNpy(encodeNpy([3], new Float32Array([1, 2, 3])), "r.npy");
  assert.deepEqual([round.dims, Array.from(round.data), round.dtype], [[3], [1, 2, 3], "<f4"]);
});

Deno.test(".npy: Fortran order, odd dtypes, truncation and bad headers are clear errors", () => {
  const four = new Uint8Array(16);
  const cases: [Uint8Array, RegExp][] = [
    [npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", four), /a\.npy is stored in Fortran order/],
    [npy("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", four), /a\.npy has dtype '<c8'/],
    [npy("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", four), /a\.npy is truncated: shape \(5\)/],
    [npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", four), /a\.npy has 4 bytes past its data/],
    [npy("{'descr': '<f4', 'shape': (4,), }", four), /a\.npy: \.npy header has no 'fortran_order'/],
    [new Uint8Array([1, 2, 3]), /a\.npy is not a \.npy file/],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(() => parseNpy(bytes, "a.npy"), (e: unknown) => e instanceof DataError && pattern.test(e.message));
  }
});

Deno.test(".npz: members by name", () => {
  const zip = zipSync({
    "image.npy": encodeNpy([2, 1], new Float32Array([1, 2])),
    "vector.npy": encodeNpy([2], new Float32Array([3, 4])),
  });
  const arrays = parseNpz(zip, "d.npz");
  assert.deepEqual([...arrays.keys()], ["image", "vector"]);
  assert.deepEqual(Array.from(arrays.get("vector")!.data), [3, 4]);
  assert.throws(() => parseNpz(zipSync({ "a.txt": new Uint8Array(1) }), "e.npz"), /e\.npz holds no \.npy arrays/);
});

Deno.test("fuzz: random bytes and mutated .npy/.npz files never crash, hang or throw anything but DataError", () => {
  const random = mulberry32(93);
  const good = encodeNpy([2, 3], Float32Array.from({ length: 6 }, (_, i) => i));
  const zip = zipSync({ "x.npy": good }, { level: 6 });
  const start = performance.now();
  for (let i = 0; i < 3000; i++) {
    const base = i % 3 === 0 ? undefined : i % 3 === 1 ? good : zip;
    let bytes: Uint8Array;
    if (!base) {
      bytes = Uint8Array.from({ length: Math.floor(random() * 80) }, () => Math.floor(random() * 256));
      if (random() < 0.5) bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59].slice(0, bytes.length));
    } else {
      bytes = base.slice(0, Math.floor(random() * (base.length + 1)));
      for (let k = Math.floor(random() * 3); k > 0 && bytes.length > 0; k--) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
    }
    for (const parse of [parseNpy, parseNpz]) {
      try {
        parse(bytes, "fuzz");
      } catch (e) {
        assert.ok(e instanceof DataError, `${(e as Error).name}: ${(e as Error).message}`);
        assert.match(e.message, /fuzz/);
      }
    }
  }
  assert.ok(isNpy(good));
  assert.ok(performance.now() - start < 10000, "6000 parses take well under 10 s");
});
