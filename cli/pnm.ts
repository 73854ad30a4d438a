/**
 * A small decoder for the Netpbm formats (PBM, PGM, PPM; binary P4–P6 and plain-text P1–P3),
 * which sharp's prebuilt libvips does not read.
 *
 * Output is 8-bit: samples with a maxval other than 255 (including 16-bit, maxval > 255) are
 * rescaled to 0..255. PBM bits are inverted on the way out, since in PBM 1 means black.
 * Spec: https://netpbm.sourceforge.net/doc/pbm.html (and pgm.html, ppm.html).
 *
 * @module
 */

import type { RawImage } from "../core/preprocess.ts";

/**
 * True if `bytes` start with a Netpbm magic number `P1`..`P6`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPnm } from "./pnm.ts";
 * assert.equal(isPnm(new TextEncoder().encode("P5\n1 1\n255\n\0")), true);
 * assert.equal(isPnm(new Uint8Array([0x89, 0x50, 0x4e, 0x47])), false);
 * ```
 */
export function isPnm(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x50 && bytes[1]! >= 0x31 && bytes[1]! <= 0x36;
}

/**
 * Decodes a PBM/PGM/PPM file into interleaved 8-bit pixels: 1 channel for P1/P2/P4/P5, 3 (RGB) for P3/P6.
 * Throws an Error whose message is the reason (`truncated: …`, `maxval 0 is out of range 1..65535`, …).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodePnm } from "./pnm.ts";
 * const header = new TextEncoder().encode("P6\n# a comment\n2 1\n255\n");
 * const file = new Uint8Array([...header, 255, 0, 0, 0, 0, 255]);
 * const image = decodePnm(file);
 * assert.deepEqual([image.width, image.height, image.channels], [2, 1, 3]);
 * assert.deepEqual(Array.from(image.data), [255, 0, 0, 0, 0, 255]);
 * ```
 */
export function decodePnm(bytes: Uint8Array): RawImage {
  if (!isPnm(bytes)) throw new Error("not a Netpbm file (no P1..P6 magic number)");
  const kind = bytes[1]! - 0x30; // 1..6
  const reader = new HeaderReader(bytes, 2);
  const width = reader.integer("width");
  const height = reader.integer("height");
  if (width < 1 || height < 1) throw new Error(`image size ${width}×${height} is empty`);
  const bitmap = kind === 1 || kind === 4;
  const maxval = bitmap ? 1 : reader.integer("maxval");
  if (maxval < 1 || maxval > 65535) throw new Error(`maxval ${maxval} is out of range 1..65535`);
  const channels = kind === 3 || kind === 6 ? 3 : 1;
  const samples = width * height * channels;

  if (kind === 4) {
    // Exactly one whitespace byte separates the header from the raster.
    const start = reader.pos + 1;
    const stride = Math.ceil(width / 8);
    need(bytes.length - start, stride * height);
    const out = new Uint8Array(samples);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const bit = (bytes[start + y * stride + (x >> 3)]! >> (7 - (x & 7))) & 1;
        out[y * width + x] = bit ? 0 : 255;
      }
    }
    return { data: out, width, height, channels };
  }

  if (kind === 5 || kind === 6) {
    const start = reader.pos + 1;
    const wide = maxval > 255;
    need(bytes.length - start, samples * (wide ? 2 : 1));
    const out = new Uint8Array(samples);
    for (let i = 0; i < samples; i++) {
      const v = wide ? (bytes[start + 2 * i]! << 8) | bytes[start + 2 * i + 1]! : bytes[start + i]!;
      out[i] = scaleSample(v, maxval, i);
    }
    return { data: out, width, height, channels };
  }

  // Plain (ASCII) variants. Every sample takes at least one byte, so a size the file cannot hold fails before
  // allocating.
  need(bytes.length - reader.pos, samples);
  const out = new Uint8Array(samples);
  for (let i = 0; i < samples; i++) {
    if (kind === 1) {
      // P1 digits need no separators: "0101" is four pixels.
      const bit = reader.bit(i, samples);
      out[i] = bit ? 0 : 255;
    } else {
      out[i] = scaleSample(reader.sample(i, samples), maxval, i);
    }
  }
  return { data: out, width, height, channels };
}

function need(available: number, needed: number): void {
  if (available < needed) {
    throw new Error(`truncated: pixel data needs ${needed} bytes but the file has ${Math.max(available, 0)}`);
  }
}

function scaleSample(v: number, maxval: number, index: number): number {
  if (v > maxval) throw new Error(`sample ${index} is ${v}, above maxval ${maxval}`);
  return maxval === 255 ? v : Math.round((v * 255) / maxval);
}

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0b || b === 0x0c;
}

/** Reads whitespace- and comment-separated decimal tokens from a Netpbm header or plain raster. */
class HeaderReader {
  constructor(private readonly bytes: Uint8Array, public pos: number) {}

  private skipSpaceAndComments(): void {
    const b = this.bytes;
    while (this.pos < b.length) {
      if (isSpace(b[this.pos])) this.pos++;
      else if (b[this.pos] === 0x23) {
        while (this.pos < b.length && b[this.pos] !== 0x0a && b[this.pos] !== 0x0d) this.pos++;
      } else break;
    }
  }

  integer(what: string): number {
    this.skipSpaceAndComments();
    const b = this.bytes;
    const start = this.pos;
    let value = 0;
    while (this.pos < b.length && b[this.pos]! >= 0x30 && b[this.pos]! <= 0x39) {
      value = value * 10 + (b[this.pos]! - 0x30);
      if (value > 0x7fffffff) throw new Error(`${what} is too large`);
      this.pos++;
    }
    if (this.pos === start) {
      throw new Error(this.pos >= b.length ? `truncated: header ends before the ${what}` : `${what} is not a number`);
    }
    if (this.pos < b.length && !isSpace(b[this.pos]) && b[this.pos] !== 0x23) {
      throw new Error(`${what} is not a number`);
    }
    return value;
  }

  sample(index: number, total: number): number {
    this.skipSpaceAndComments();
    if (this.pos >= this.bytes.length) throw new Error(`truncated: ${index} of ${total} samples present`);
    return this.integer(`sample ${index}`);
  }

  bit(index: number, total: number): number {
    this.skipSpaceAndComments();
    const c = this.bytes[this.pos];
    if (c === undefined) throw new Error(`truncated: ${index} of ${total} samples present`);
    if (c !== 0x30 && c !== 0x31) throw new Error(`sample ${index} is not 0 or 1`);
    this.pos++;
    return c - 0x30;
  }
}
