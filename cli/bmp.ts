/**
 * A small decoder for uncompressed Windows/OS2 BMP (and DIB) files, which sharp's prebuilt libvips does not read.
 *
 * Supported: 1/4/8-bit palette, 16-bit (5-5-5 or bit fields), 24-bit, 32-bit (BI_RGB or bit fields), bottom-up
 * and top-down rows, all header versions (OS/2 core, BITMAPINFOHEADER, V2–V5). Not supported: RLE and
 * embedded JPEG/PNG compression. The output is always 3-channel RGB: any alpha is dropped, as the calibration
 * pipeline drops it for every format.
 * Layout reference: https://learn.microsoft.com/en-us/windows/win32/gdi/bitmap-storage
 *
 * @module
 */

import type { RawImage } from "../core/preprocess.ts";

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;
const COMPRESSION_NAMES: Record<number, string> = { 1: "RLE8", 2: "RLE4", 4: "JPEG", 5: "PNG" };

/**
 * True if `bytes` start with the BMP signature `BM` and are long enough to hold the headers' fixed part.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isBmp } from "./bmp.ts";
 * assert.equal(isBmp(new TextEncoder().encode("BM")), true);
 * assert.equal(isBmp(new TextEncoder().encode("P6")), false);
 * ```
 */
export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

/**
 * Decodes an uncompressed BMP into interleaved 8-bit RGB pixels, top row first.
 * Throws an Error whose message is the reason (`truncated: …`, `RLE8 compression is not supported`, …).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeBmp } from "./bmp.ts";
 * // 1×1 24-bit BMP holding one orange pixel (B, G, R = 0, 128, 255) plus one byte of row padding
 * const file = new Uint8Array(58);
 * const v = new DataView(file.buffer);
 * file.set([0x42, 0x4d]);
 * v.setUint32(2, 58, true); // file size
 * v.setUint32(10, 54, true); // pixel data offset
 * v.setUint32(14, 40, true); // BITMAPINFOHEADER
 * v.setInt32(18, 1, true); // width
 * v.setInt32(22, 1, true); // height (positive: bottom-up)
 * v.setUint16(26, 1, true); // planes
 * v.setUint16(28, 24, true); // bits per pixel
 * file.set([0, 128, 255], 54);
 * const image = decodeBmp(file);
 * assert.deepEqual([image.width, image.height, image.channels], [1, 1, 3]);
 * assert.deepEqual(Array.from(image.data), [255, 128, 0]);
 * ```
 */
export function decodeBmp(bytes: Uint8Array): RawImage {
  if (!isBmp(bytes)) throw new Error("not a BMP file (no BM signature)");
  if (bytes.length < 26) throw new Error(`truncated: ${bytes.length} bytes is shorter than the BMP headers`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);

  let width: number, height: number, bpp: number, compression: number, paletteEntrySize: number, colorsUsed: number;
  if (headerSize === 12) {
    // OS/2 BITMAPCOREHEADER: 16-bit sizes, 3-byte palette entries.
    width = view.getUint16(18, true);
    height = view.getUint16(20, true);
    bpp = view.getUint16(24, true);
    compression = BI_RGB;
    paletteEntrySize = 3;
    colorsUsed = 0;
  } else if (headerSize >= 40) {
    if (bytes.length < 14 + 40) throw new Error(`truncated: ${bytes.length} bytes is shorter than the BMP headers`);
    width = view.getInt32(18, true);
    height = view.getInt32(22, true);
    bpp = view.getUint16(28, true);
    compression = view.getUint32(30, true);
    colorsUsed = view.getUint32(46, true);
    paletteEntrySize = 4;
  } else {
    throw new Error(`unknown BMP header size ${headerSize}`);
  }

  const topDown = height < 0;
  height = Math.abs(height);
  if (width < 1 || height < 1) throw new Error(`image size ${width}×${height} is empty`);
  if (compression !== BI_RGB && compression !== BI_BITFIELDS && compression !== BI_ALPHABITFIELDS) {
    const name = COMPRESSION_NAMES[compression] ?? `type ${compression}`;
    throw new Error(`${name} compression is not supported (only uncompressed BMP)`);
  }
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw new Error(`${bpp} bits per pixel is not supported`);
  if (compression !== BI_RGB && bpp !== 16 && bpp !== 32) {
    throw new Error(`bit-field masks need 16 or 32 bits per pixel, not ${bpp}`);
  }

  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  const lastRow = Math.ceil((bpp * width) / 8); // the last row's padding is often left out
  const needed = dataOffset + stride * (height - 1) + lastRow;
  if (bytes.length < needed) {
    throw new Error(`truncated: pixel data needs ${needed} bytes but the file has ${bytes.length}`);
  }

  let palette: Uint8Array | undefined;
  if (bpp <= 8) {
    const start = 14 + headerSize;
    const declared = colorsUsed > 0 && colorsUsed <= 1 << bpp ? colorsUsed : 1 << bpp;
    // Some writers (notably OS/2) store fewer entries than declared: take what fits before the pixels.
    const count = Math.min(declared, Math.floor((Math.min(dataOffset, bytes.length) - start) / paletteEntrySize));
    if (!(count > 0)) throw new Error(`the ${bpp}-bit image has no palette before its pixel data`);
    palette = new Uint8Array(count * 3);
    for (let i = 0; i < count; i++) {
      const e = start + i * paletteEntrySize;
      palette[i * 3] = bytes[e + 2]!;
      palette[i * 3 + 1] = bytes[e + 1]!;
      palette[i * 3 + 2] = bytes[e]!;
    }
  }

  let fields: BitField[] | undefined;
  if (bpp === 16 || bpp === 32) {
    let masks: [number, number, number];
    if (compression === BI_RGB) {
      masks = bpp === 16 ? [0x7c00, 0x03e0, 0x001f] : [0xff0000, 0x00ff00, 0x0000ff];
    } else {
      // Masks sit right after the 40-byte header, inside it for V2+ headers: offset 54 either way.
      if (bytes.length < 66) throw new Error("truncated: bit-field masks are missing");
      masks = [view.getUint32(54, true), view.getUint32(58, true), view.getUint32(62, true)];
    }
    fields = masks.map(bitField);
  }

  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (palette) {
        const index = (bytes[row + ((x * bpp) >> 3)]! >> (8 - bpp - ((x * bpp) & 7))) & ((1 << bpp) - 1);
        if (index * 3 >= palette.length) {
          throw new Error(`palette index ${index} is out of range (${palette.length / 3} colours)`);
        }
        out.set(palette.subarray(index * 3, index * 3 + 3), o);
      } else if (fields) {
        const px = bpp === 16 ? view.getUint16(row + x * 2, true) : view.getUint32(row + x * 4, true);
        for (let c = 0; c < 3; c++) out[o + c] = readField(px, fields[c]!);
      } else {
        const p = row + x * 3;
        out[o] = bytes[p + 2]!;
        out[o + 1] = bytes[p + 1]!;
        out[o + 2] = bytes[p]!;
      }
    }
  }
  return { data: out, width, height, channels: 3 };
}

interface BitField {
  mask: number;
  shift: number;
  max: number;
}

function bitField(mask: number): BitField {
  if (mask === 0) return { mask: 0, shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  let bits = 0;
  while (((mask >>> (shift + bits)) & 1) === 1 && bits < 32 - shift) bits++;
  return { mask, shift, max: 2 ** bits - 1 };
}

function readField(px: number, f: BitField): number {
  if (f.max === 0) return 0;
  const v = ((px & f.mask) >>> f.shift) % (f.max + 1);
  return Math.round((v * 255) / f.max);
}
